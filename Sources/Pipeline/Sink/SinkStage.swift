import Kafka
import Logging
import Metrics
import NIOCore
import NIOPosix
import Outputs
import ServiceLifecycle

/// A configuration the sink cannot run with, said plainly.
public struct SinkConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// `auditpipe sink`: reads the alerts topic once per output (consumer group
/// `auditpipe-sink-<output>`) and delivers through the shared delivery policy. Each output has its
/// own worker, consumer thread and lag; failed alerts go to the dead-letter topic; an output's
/// offsets move only past alerts it delivered, dead-lettered or skipped. Graceful shutdown lets
/// attempts in flight finish, commits, and leaves the groups.
public final class SinkStage: Service {
    private let workers: [OutputWorker]
    private let deadLetterProducer: KafkaProducer
    private let stop = StopSignal()
    private let logger: Logger
    private let readinessCheck: KafkaAdmin
    private let alertsTopic: String

    public init(config: AuditpipeConfig, metrics: PipelineMetrics, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        guard !config.sink.outputs.isEmpty else {
            throw SinkConfigurationError(description: "the sink has no outputs: configure at least one under sink.outputs")
        }
        guard !config.kafka.brokers.isEmpty else {
            throw SinkConfigurationError(description: "the sink needs Kafka: give --brokers or kafka.brokers")
        }
        let kafka = config.kafka.clientConfiguration
        deadLetterProducer = try KafkaProducer(configuration: kafka)
        readinessCheck = try KafkaAdmin(configuration: kafka)
        alertsTopic = config.topics.alerts
        self.logger = logger
        let deadLetters = DeadLetterWriter(producer: deadLetterProducer, topic: config.topics.deadLetters, logger: logger)
        var workers: [OutputWorker] = []
        for definition in config.sink.outputs {
            let name = definition.common.name
            var outputLogger = logger
            outputLogger[metadataKey: "output"] = "\(name)"
            let context = OutputContext(eventLoopGroup: eventLoopGroup, kafka: kafka, logger: outputLogger, metrics: metrics.factory)
            let output = try definition.makeOutput(context: context)
            let consumer = try AlertConsumer(configuration: kafka, output: name, topic: config.topics.alerts, logger: outputLogger)
            workers.append(OutputWorker(
                output: output, settings: definition.common, consumer: consumer, deadLetters: deadLetters,
                metrics: OutputMetrics(output: name, factory: metrics.factory),
                lag: Gauge(label: "auditpipe_sink_consumer_lag", dimensions: [("output", name)], factory: metrics.factory),
                stop: stop, logger: outputLogger))
        }
        self.workers = workers
    }

    public func run() async throws {
        logger.info("sink started", metadata: ["outputs": "\(workers.map(\.output.name).joined(separator: ","))"])
        // Graceful shutdown and cancellation (another service of the group failed) both stop the workers
        // at their next safe point.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for worker in workers {
                        group.addTask { await worker.run() }
                    }
                }
            } onGracefulShutdown: { [stop] in
                stop.stop()
            }
        } onCancel: { [stop] in
            stop.stop()
        }
        deadLetterProducer.close()
        logger.info("sink stopped")
    }

    /// Asks the workers to stop (as graceful shutdown does).
    public func requestStop() {
        stop.stop()
    }

    /// Ready when the cluster answers and has the alerts topic.
    public func readiness() -> Readiness {
        do {
            let topics = try readinessCheck.describeTopics(timeout: .seconds(2))
            return topics[alertsTopic] == nil ? .notReady("the alerts topic \(alertsTopic) does not exist") : .ready
        } catch {
            return .notReady("Kafka does not answer: \(error)")
        }
    }
}
