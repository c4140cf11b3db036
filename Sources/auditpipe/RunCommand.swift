import ArgumentParser
import Foundation
import Kafka
import Logging
import Outputs
import Pipeline
import Rules
import ServiceLifecycle
import Settings

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the whole pipeline (ingress, engine, sink) in one process.",
        discussion: """
            With Kafka brokers configured (--brokers, AUDITPIPE_BROKERS or kafka.brokers), the three stages run \
            against them. Without, an embedded Kafka cluster (librdkafka's mock brokers, as `auditpipe kafka dev`) \
            is started with the pipeline's topics: it keeps data in memory only, for trying auditpipe out. \
            Without sink.outputs, alerts are printed on standard output, one readable line each. The ingress's \
            port serves /healthz, /readyz and the metrics of all three stages. SIGTERM or SIGINT stop every stage \
            gracefully (requests in flight are answered, batches committed, alerts delivered).
            """
    )

    /// The embedded cluster's shape: a few MB per partition are kept, so many partitions.
    static let embeddedBrokers = 3
    static let embeddedPartitions = 24

    @OptionGroup var stage: StageOptions

    @Option(name: .long, help: "A rules file; repeat to load several, in order (replaces the config's engine.rules).")
    var rules: [String] = []

    @OptionGroup var listen: ListenOption

    func run() async throws {
        var config = try stage.resolve()
        if !rules.isEmpty { config.engine.rules = rules }
        if let address = listen.address { config.ingress.listen = address }
        guard !config.engine.rules.isEmpty else {
            StandardError.print("auditpipe run: no rules: give --rules FILE (or engine.rules in the config file)")
            throw ExitCode(2)
        }
        if config.sink.outputs.isEmpty { config.sink.outputs = [Self.terminalOutput] }
        PipelineLogging.bootstrap(level: config.loggerLevel)
        let logger = PipelineLogging.logger("auditpipe.run", level: config.loggerLevel)
        guard let ruleSet = RulesLoading.load(config.engine.rules, matching: config.engine.ruleMatching) else {
            throw ExitCode(2)
        }

        var embedded: MockKafkaCluster?
        if config.kafka.brokers.isEmpty {
            let cluster = try MockKafkaCluster(brokers: Self.embeddedBrokers, topics: config.topics,
                                               partitions: Self.embeddedPartitions)
            // As `auditpipe kafka dev`: `auditpipe replay --brokers <these>` can write to its default topic.
            try cluster.createTopic(ReplayTarget.defaultTopic, partitions: Self.embeddedPartitions,
                                    replicationFactor: Self.embeddedBrokers)
            config.kafka.brokers = cluster.bootstrapServers
            embedded = cluster
            StandardError.print("""
                auditpipe run: no Kafka brokers configured: started an embedded Kafka cluster \
                (\(Self.embeddedBrokers) brokers at \(cluster.bootstrapServers), topics of \(Self.embeddedPartitions) partitions)
                auditpipe run: WARNING: the embedded cluster keeps data in memory only (and only the last few MB per \
                partition): everything is lost when auditpipe stops. Configure kafka.brokers for real use.
                """)
        }

        let stages: PipelineStages
        do {
            stages = try PipelineStages(config: config, ruleSet: ruleSet, metrics: PipelineMetrics(), logger: logger)
        } catch {
            StandardError.print("auditpipe run: \(error)")
            throw ExitCode(2)
        }
        let group = ServiceGroup(configuration: .init(services: stages.services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        // The stages closed their clients; the embedded brokers can go.
        withExtendedLifetime(embedded) {}
        logger.info("auditpipe run stopped")
    }

    /// Where alerts go when the config names no output: this terminal, one readable line each.
    static var terminalOutput: OutputDefinition {
        OutputDefinition(common: OutputSettings(name: "stdout", type: StdoutOutput.Configuration.type),
                         configuration: StdoutOutput.Configuration(format: .pretty))
    }
}
