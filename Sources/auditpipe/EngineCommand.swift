import ArgumentParser
import Foundation
import Logging
import Pipeline
import Rules
import ServiceLifecycle

struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Evaluate rules on the raw topic and publish alerts (the engine stage).",
        discussion: """
            Consumes the raw topic in the consumer group auditpipe-engine (run as many copies as the topic \
            has partitions), publishes alerts to the alerts topic and what is not an audit event to the \
            rejects topic, and commits a batch only once its alerts are acknowledged. SIGHUP (or a change \
            of a rules file) reloads the rules; SIGTERM or SIGINT finishes the batches in flight and exits. \
            Serves /healthz, /readyz and /metrics on engine.metrics_listen.
            """
    )

    @OptionGroup var stage: StageOptions

    @Option(name: .long, help: "A rules file; repeat to load several, in order (replaces the config's engine.rules).")
    var rules: [String] = []

    @Option(name: .long, help: "first: only the first matching rule per event, as Falco; all: every matching rule.")
    var ruleMatching: RuleMatchingOption?

    func run() async throws {
        var config = try stage.resolve()
        if !rules.isEmpty { config.engine.rules = rules }
        if let ruleMatching { config.engine.ruleMatching = ruleMatching.value }
        guard !config.engine.rules.isEmpty else {
            StandardError.print("no rules: give --rules FILE (or engine.rules in the config file)")
            throw ExitCode(2)
        }
        guard !config.kafka.brokers.isEmpty else {
            StandardError.print("no Kafka brokers: give --brokers HOST:PORT (or AUDITPIPE_BROKERS, or kafka.brokers in the config file)")
            throw ExitCode(2)
        }
        PipelineLogging.bootstrap(level: config.loggerLevel)
        let logger = PipelineLogging.logger("auditpipe.engine", level: config.loggerLevel)
        guard let ruleSet = RulesLoading.load(config.engine.rules, matching: config.engine.ruleMatching) else {
            throw ExitCode(2)
        }
        let metrics = PipelineMetrics()
        let engine: EngineService
        do {
            engine = try EngineService(configuration: config, ruleSet: ruleSet, metrics: metrics, logger: logger)
        } catch {
            StandardError.print("cannot start the engine: \(error)")
            throw ExitCode(2)
        }
        let ops = OpsServer(address: config.engine.metricsListen, metrics: metrics, logger: logger) { engine.readiness() }
        let group = ServiceGroup(configuration: .init(
            // Shut down in reverse order: the engine drains first, /healthz and /metrics answer meanwhile.
            services: [
                .init(service: ops),
                .init(service: engine, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
