import Kafka
import Logging

/// One output's member of its consumer group (`auditpipe-sink-<output>`) on the alerts topic. An
/// actor on a thread of its own (librdkafka's consumer is blocking and single-threaded): polls,
/// commits and lag queries run there, one at a time.
actor AlertConsumer {
    private let executor: ThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let consumer: KafkaConsumer
    private let logger: Logger
    /// The next offsets this member committed, by partition (for lag).
    private var committed: [TopicPartition: Int64] = [:]

    /// Consumer settings the sink needs unless the configuration says otherwise.
    static let defaults: [String: String] = [
        // An output that is down holds its partitions while it retries (its lag is the buffer);
        // liveness is the heartbeat's (session.timeout.ms), not the time between polls.
        "max.poll.interval.ms": "3600000",
        // Prefetch per output: enough for throughput, bounded so many outputs stay small.
        "queued.max.messages.kbytes": "16384",
    ]

    init(configuration: KafkaConfiguration, output: String, topic: String, logger: Logger) throws {
        var settings = configuration
        for (key, value) in Self.defaults where settings[key] == nil { settings[key] = value }
        let groupID = Self.groupID(output)
        consumer = try KafkaConsumer(configuration: settings, groupID: groupID) { event in
            switch event {
            case .assigned(let partitions): logger.info("partitions assigned", metadata: ["count": "\(partitions.count)"])
            case .revoked(let partitions): logger.info("partitions revoked", metadata: ["count": "\(partitions.count)"])
            }
        }
        try consumer.subscribe([topic])
        executor = ThreadExecutor(name: "sink-\(output)")
        self.logger = logger
    }

    /// The consumer group of an output (DESIGN.md).
    static func groupID(_ output: String) -> String { "auditpipe-sink-\(output)" }

    func poll(maxMessages: Int, timeout: Duration) throws -> [KafkaMessage] {
        try consumer.poll(maxMessages: maxMessages, timeout: timeout)
    }

    /// Commits next offsets; a failed commit (a rebalance took the partition) is logged: the
    /// partition's new owner reads those alerts again, and de-duplication absorbs the repeat.
    func commit(_ nextOffsets: [TopicPartition: Int64], wait: Bool) {
        guard !nextOffsets.isEmpty else { return }
        do {
            try consumer.commit(nextOffsets, asynchronously: !wait)
            committed.merge(nextOffsets) { _, new in new }
        } catch {
            logger.warning("cannot commit offsets", metadata: ["error": "\(error)"])
        }
    }

    /// Alerts on this member's partitions not yet delivered: high watermark minus the next offset to
    /// hand over (the worker reads a batch only once the previous one is delivered, so that is the
    /// delivered position give or take one batch). Local reads only: a watermark query would queue
    /// behind the long-polling fetch on the broker connection and hold this thread (and the polls)
    /// for up to fetch.wait.max.ms per partition. Partitions not fetched yet are left out.
    func lag() -> Int64? {
        guard let partitions = try? consumer.assignment(), !partitions.isEmpty else { return nil }
        let positions = consumer.positions(partitions)
        var total: Int64 = 0
        var known = false
        for partition in partitions {
            guard let marks = consumer.cachedWatermarks(partition),
                  let next = positions[partition] ?? committed[partition] ?? (marks.low >= 0 ? marks.low : nil) else { continue }
            total += max(0, marks.high - next)
            known = true
        }
        return known ? total : nil
    }

    /// Leaves the group and ends the thread.
    func close() {
        consumer.close()
        executor.shutdown()
    }
}
