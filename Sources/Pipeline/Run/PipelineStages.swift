import Logging
import Rules
import ServiceLifecycle

/// The three stages in one process (`auditpipe run`, the end-to-end benchmark): the ingress, the engine and,
/// when outputs are configured, the sink, sharing one metrics registry (the ingress's /metrics shows them all).
public struct PipelineStages: Sendable {
    public let ingress: IngressServer
    public let engine: EngineService
    public let sink: SinkStage?

    /// Opens every stage's Kafka clients against `config.kafka`; fails with the stage's own message.
    /// - Parameter acknowledged: passed to the engine (benchmarks measure with it).
    public init(config: AuditpipeConfig, ruleSet: RuleSet, metrics: PipelineMetrics, logger: Logger,
                acknowledged: (@Sendable (_ batch: RawBatch, _ closedAt: UInt64) -> Void)? = nil) throws {
        ingress = try IngressServer(settings: config.ingress, kafka: config.kafka, topics: config.topics, metrics: metrics,
                                    logger: Self.logger(logger, "ingress"))
        engine = try EngineService(configuration: config, ruleSet: ruleSet, metrics: metrics,
                                   logger: Self.logger(logger, "engine"), acknowledged: acknowledged)
        sink = config.sink.outputs.isEmpty ? nil
            : try SinkStage(config: config, metrics: metrics, logger: Self.logger(logger, "sink"))
    }

    /// The stages as a ServiceGroup's services. The group shuts services down in reverse order, so the ingress
    /// stops taking requests first, then the engine finishes its batches, then the sink delivers what they made;
    /// any stage ending (or failing) ends the others.
    public var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let sink { services.append(.init(service: sink, successTerminationBehavior: .gracefullyShutdownGroup)) }
        services.append(.init(service: engine, successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: ingress, successTerminationBehavior: .gracefullyShutdownGroup))
        return services
    }

    /// Each stage logs under its own label, as when it runs alone (`auditpipe.ingress`, …).
    private static func logger(_ base: Logger, _ stage: String) -> Logger {
        PipelineLogging.logger("auditpipe.\(stage)", level: base.logLevel)
    }
}
