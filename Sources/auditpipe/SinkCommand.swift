import ArgumentParser
import Foundation
import Logging
import Pipeline
import ServiceLifecycle

struct SinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "Deliver the alerts topic to the configured outputs (one consumer group per output).",
        discussion: """
            Outputs come from the configuration file's sink.outputs. Each output reads k8s-audit.alerts in its own \
            consumer group (auditpipe-sink-<name>): a down output only builds lag. Alerts an output gives up on go to \
            k8s-audit.alerts.dlq. Serves /healthz, /readyz and /metrics on sink.metrics_listen. SIGTERM or SIGINT \
            stops gracefully (deliveries in flight finish and are committed).
            """
    )

    @OptionGroup var stage: StageOptions

    func run() async throws {
        let config = try stage.resolve()
        PipelineLogging.bootstrap(level: config.loggerLevel)
        let logger = PipelineLogging.logger("auditpipe.sink", level: config.loggerLevel)
        let metrics = PipelineMetrics()
        let sink: SinkStage
        do {
            sink = try SinkStage(config: config, metrics: metrics, logger: logger)
        } catch {
            StandardError.print("auditpipe sink: \(error)")
            throw ExitCode(2)
        }
        let ops = OpsServer(address: config.sink.metricsListen, metrics: metrics, logger: logger) { sink.readiness() }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: sink, successTerminationBehavior: .gracefullyShutdownGroup),
                       .init(service: ops)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
