import Dispatch
import Kafka
import Logging
import Rules
import Synchronization

/// Produces each evaluated batch's alerts and rejects (in the order the sequencer releases batches,
/// so alerts of a partition go out in event order) and tells the consumer thread when Kafka has
/// acknowledged all of them: only then may the batch's offsets be committed.
///
/// A record Kafka fails to store (broker away past the producer's timeout) is sent again after a
/// backoff, for as long as it takes: the batch stays in flight, and fetching pauses when too much is
/// in flight. An alert Kafka refuses for good (too large, …) goes to the rejects topic with its event
/// and the reason instead; a reject refused for good is logged and counted as dropped.
final class AlertPublisher: Sendable {
    private let producer: KafkaProducer
    private let topics: PipelineTopics
    private let inbox: LoopInbox
    private let metrics: EngineMetrics
    private let logger: Logger
    private let acknowledged: (@Sendable (EngineBatch) -> Void)?
    private let stopped = Atomic<Bool>(false)
    static let stage = "engine"

    init(producer: KafkaProducer, topics: PipelineTopics, inbox: LoopInbox, metrics: EngineMetrics, logger: Logger,
         acknowledged: (@Sendable (EngineBatch) -> Void)?) {
        self.producer = producer
        self.topics = topics
        self.inbox = inbox
        self.metrics = metrics
        self.logger = logger
        self.acknowledged = acknowledged
    }

    /// Stops retrying: what is not acknowledged by now stays uncommitted (shutdown gave up waiting).
    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Queues the batch's records now (in release order) and reports the batch when all are stored.
    func publish(_ batch: EngineBatch, _ outcome: BatchOutcome) {
        let (records, events) = PipelineRecords.records(of: outcome, batch: batch.raw, topics: topics,
                                                        stage: Self.stage)
        if records.isEmpty { return done(batch) }
        send(Array(zip(records, events)), of: Delivery(batch: batch, records: records.count), attempt: 0)
    }

    /// The records of one batch still to be stored.
    private final class Delivery: Sendable {
        let batch: EngineBatch
        private let remaining: Mutex<Int>

        init(batch: EngineBatch, records: Int) {
            self.batch = batch
            remaining = Mutex(records)
        }

        /// Counts records settled (stored, or given up on); true when that was the last.
        func settle(_ count: Int) -> Bool {
            guard count > 0 else { return false }
            return remaining.withLock { remaining in
                remaining -= count
                return remaining == 0
            }
        }
    }

    /// Sends records (each with the index of the event it stems from) and handles their results.
    private func send(_ records: [(KafkaRecord, Int)], of delivery: Delivery, attempt: Int) {
        producer.send(records.map(\.0)) { [self] results in
            var settled = 0
            var again: [(KafkaRecord, Int)] = []
            var lastError: KafkaError?
            for ((record, event), result) in zip(records, results) {
                guard case .failure(let error) = result else {
                    settled += 1
                    continue
                }
                if error.isFatal {
                    logger.critical("the alert producer failed for good", metadata: ["error": "\(error)"])
                    inbox.post(.fatal(error))
                    return
                }
                if !error.isPermanentForRecord {
                    again.append((record, event))
                    lastError = error
                } else if record.topic != topics.rejects {
                    // Dead-letter the alert: its event goes to the rejects topic with the reason.
                    metrics.alertsDeadLettered.increment()
                    let rule = record.headers.first { $0.name == "rule" }.map { String(decoding: $0.value, as: UTF8.self) } ?? "?"
                    let reason = "the alert of rule '\(rule)' could not be produced: \(error)"
                    logger.error("alert dead-lettered to the rejects topic",
                                 metadata: ["rule": "\(rule)", "error": "\(error)", "origin": "\(delivery.batch.raw.partition)"])
                    again.append((PipelineRecords.reject(value: delivery.batch.raw.value(of: event), reason: reason,
                                                         stage: Self.stage, cluster: delivery.batch.raw.cluster(of: event),
                                                         topic: topics.rejects), event))
                } else {
                    metrics.dropped.increment()
                    logger.error("a reject could not be produced and is lost",
                                 metadata: ["error": "\(error)", "partition": "\(delivery.batch.raw.partition)",
                                            "offset": "\(delivery.batch.raw.events[event].offset)"])
                    settled += 1
                }
            }
            if delivery.settle(settled) { done(delivery.batch) }
            guard !again.isEmpty else { return }
            guard !stopped.load(ordering: .relaxed) else { return }
            let retrying = lastError != nil
            let delay = retrying ? Self.backoff(attempt: attempt) : .zero
            if let lastError {
                metrics.produceRetries.increment(by: again.count)
                logger.warning("records not acknowledged by Kafka; sending them again",
                               metadata: ["records": "\(again.count)", "error": "\(lastError)",
                                          "batch": "\(delivery.batch.lane)/\(delivery.batch.sequence)",
                                          "retry_in": "\(delay)"])
            }
            let records = again, nextAttempt = retrying ? attempt + 1 : attempt
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(Monotonic.nanoseconds(delay)))) {
                self.send(records, of: delivery, attempt: nextAttempt)
            }
        }
    }

    /// 100 ms doubling per attempt, at most 5 s.
    static func backoff(attempt: Int) -> Duration {
        .milliseconds(min(5000, 100 << min(attempt, 6)))
    }

    private func done(_ batch: EngineBatch) {
        let oldest = batch.raw.events.lazy.map(\.timestamp).filter { $0 > 0 }.min() ?? 0
        inbox.post(.acknowledged(BatchReceipt(lane: batch.lane, sequence: batch.sequence, events: batch.raw.count,
                                              bytes: batch.raw.byteCount, closedAt: batch.closedAt,
                                              oldestTimestamp: oldest)))
        acknowledged?(batch)
    }
}
