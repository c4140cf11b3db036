import Foundation
import Kafka
import Logging
import Rules
import ServiceLifecycle

/// The engine stage: consumes `k8s-audit.raw` in the engine's consumer group, evaluates the rules on
/// every core, publishes alerts to `k8s-audit.alerts` (poison messages to `k8s-audit.rejects`), and
/// commits a batch's offsets once all its alerts are acknowledged. Runs until graceful shutdown, then
/// stops fetching, finishes and commits the batches in flight, and leaves the group.
///
/// The parts, each in its own file: `ConsumerLoop` (the consumer's thread: poll, batch, commit,
/// pause/resume, rebalance), `Batcher`, `WorkerPool` (evaluation, one `BatchEvaluator` per thread),
/// `PartitionSequencer` (alerts of a partition in event order), `AlertPublisher` (produce, retry,
/// dead-letter), `CommitTracker`, `FlowControl` (backpressure), `RuleReloader`, `LagMonitor`, `EngineMetrics`.
public final class EngineService: Service, Sendable {
    private let settings: EngineSettings
    private let producer: KafkaProducer
    private let admin: KafkaAdmin
    private let workers: WorkerPool
    private let loop: ConsumerLoop
    private let publisher: AlertPublisher
    private let reloader: RuleReloader
    private let metrics: EngineMetrics
    private let logger: Logger
    /// The rules in force (replaced on reload).
    public let rules: CurrentRuleSet

    /// - Parameters:
    ///   - ruleSet: the rules loaded from `configuration.engine.rules` (the caller reports their problems).
    ///   - acknowledged: called with each batch once all its alerts are acknowledged (benchmarks measure
    ///     end-to-end latency with it); on a producer thread, so keep it short.
    public init(configuration: AuditpipeConfig, ruleSet: RuleSet, metrics pipelineMetrics: PipelineMetrics,
                logger: Logger, hostname: String = RuleSet.defaultHostname,
                acknowledged: (@Sendable (_ batch: RawBatch, _ closedAt: UInt64) -> Void)? = nil) throws {
        let settings = configuration.engine
        self.settings = settings
        self.logger = logger
        let metrics = EngineMetrics(factory: pipelineMetrics.factory)
        self.metrics = metrics
        metrics.loadedRules.record(ruleSet.statistics.rules)
        let kafka = configuration.kafka
        var producerSettings = KafkaConfiguration(EngineSettings.producerDefaults.merging(kafka.settings) { _, given in given })
        producerSettings["bootstrap.servers"] = kafka.brokers
        let producer = try KafkaProducer(configuration: producerSettings)
        self.producer = producer
        admin = try KafkaAdmin(configuration: kafka.clientConfiguration)
        let rules = CurrentRuleSet(ruleSet)
        self.rules = rules

        let inbox = LoopInbox()
        var onAcknowledged: (@Sendable (EngineBatch) -> Void)?
        if let acknowledged {
            onAcknowledged = { batch in acknowledged(batch.raw, batch.closedAt) }
        }
        let publisher = AlertPublisher(producer: producer, topics: configuration.topics, inbox: inbox, metrics: metrics,
                                       logger: logger, acknowledged: onAcknowledged)
        self.publisher = publisher
        let sequencer = PartitionSequencer { batch, outcome in publisher.publish(batch, outcome) }
        workers = WorkerPool(count: settings.workerCount, rules: rules, hostname: hostname, metrics: metrics) { batch, outcome in
            sequencer.complete(batch, outcome)
        }
        let maxQueued = Int(producerSettings["queue.buffering.max.messages"] ?? "") ?? 100_000
        let options = ConsumerLoop.Options(
            rawTopic: configuration.topics.raw, maxEvents: settings.batchMaxEvents, maxWait: settings.batchMaxWait.duration,
            commitInterval: settings.commitInterval.duration, revokeTimeout: settings.revokeTimeout.duration,
            shutdownTimeout: settings.shutdownTimeout.duration,
            flow: FlowControl(maxBatches: settings.maxInFlightBatches, maxBytes: settings.maxInFlightBytes.bytes,
                              maxProducerQueued: max(1, maxQueued / 2)))
        var consumerSettings = KafkaConfiguration(EngineSettings.consumerDefaults.merging(kafka.settings) { _, given in given })
        consumerSettings["bootstrap.servers"] = kafka.brokers
        let group = settings.consumerGroup
        loop = ConsumerLoop(options: options, workers: workers, sequencer: sequencer, metrics: metrics, logger: logger,
                            inbox: inbox, producerQueued: { producer.queuedCount }) { onRebalance, onCommit in
            try KafkaConsumer(configuration: consumerSettings, groupID: group, onRebalance: onRebalance, onCommit: onCommit)
        }
        let watch = settings.rulesWatchInterval.duration
        reloader = RuleReloader(files: settings.rules, matching: settings.ruleMatching, rules: rules,
                                watchInterval: watch > .zero ? watch : nil, metrics: metrics, logger: logger)
    }

    /// Ready once the consumer joined its group (with or without partitions), until shutdown begins.
    public func readiness() -> Readiness {
        let status = loop.status
        if status.draining { return .notReady("shutting down") }
        return status.joined ? .ready : .notReady("joining consumer group \(settings.consumerGroup)")
    }

    /// Reloads the rules now (as SIGHUP does); true if the new rules replaced the old.
    @discardableResult
    public func reloadRules() -> Bool {
        reloader.reload(because: "request")
    }

    public func run() async throws {
        logger.info("engine starting", metadata: [
            "rules_version": "\(rules.ruleSet.version)", "rules": "\(rules.ruleSet.statistics.rules)",
            "workers": "\(settings.workerCount)", "group": "\(settings.consumerGroup)",
        ])
        workers.start()
        loop.start()
        let lag = LagMonitor(admin: admin, interval: settings.lagInterval.duration, status: { [loop] in loop.status },
                             metrics: metrics)
        let outcome: Result<Void, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.reloader.run() }
            group.addTask { await lag.run() }
            let outcome = await withGracefulShutdownHandler { () async -> Result<Void, any Error> in
                do {
                    try await self.loop.join()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            } onGracefulShutdown: {
                self.loop.inbox.post(.stop)
            }
            group.cancelAll()
            return outcome
        }
        // The loop committed what was acknowledged and left the group; nothing new reaches the workers.
        publisher.stop()
        workers.stop()
        producer.close(timeout: .seconds(5))
        switch outcome {
        case .success: logger.info("engine stopped")
        case .failure(let error):
            logger.critical("engine failed", metadata: ["error": "\(error)"])
            throw error
        }
    }
}
