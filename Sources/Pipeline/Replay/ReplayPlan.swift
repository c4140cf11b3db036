import Kafka

/// The offsets of one partition a replay reads: from `start` up to `end` (exclusive).
public struct PartitionSpan: Sendable, Equatable {
    public let partition: TopicPartition
    public let start: Int64
    public let end: Int64

    public init(partition: TopicPartition, start: Int64, end: Int64) {
        self.partition = partition
        self.start = start
        self.end = max(start, end)
    }

    public var count: Int64 { end - start }
}

/// What Kafka says about one partition, for planning: its watermarks and the offsets its broker found for
/// the range's times (nil: no message that recent; absent: not asked).
public struct PartitionFacts: Sendable, Equatable {
    public var low: Int64
    public var high: Int64
    public var fromOffset: Int64??
    public var toOffset: Int64??

    public init(low: Int64, high: Int64, fromOffset: Int64?? = .none, toOffset: Int64?? = .none) {
        self.low = low
        self.high = high
        self.fromOffset = fromOffset
        self.toOffset = toOffset
    }
}

/// Which offsets of every partition a replay reads.
public struct ReplayPlan: Sendable, Equatable {
    /// Partitions with something to read, in partition order.
    public let spans: [PartitionSpan]
    /// False when the brokers cannot look offsets up by time (librdkafka's mock cluster answers such
    /// requests with "none"): every partition is then read from its first retained offset, and the events'
    /// own times select the range.
    public let byTime: Bool
    /// Messages the topic holds, all partitions together (for the "nothing in range" message).
    public let retained: Int64

    public var total: Int64 { spans.reduce(0) { $0 + $1.count } }

    /// Start: the first offset at or after the range's start (by the broker's time index), or the first
    /// retained one when the brokers cannot tell; nothing when no message is that recent. End: the first
    /// offset after the range's end, or the high watermark now (a replay does not follow new events).
    public static func make(_ facts: [TopicPartition: PartitionFacts], byTime: Bool) -> ReplayPlan {
        var spans: [PartitionSpan] = []
        var retained: Int64 = 0
        for (partition, fact) in facts.sorted(by: { $0.key < $1.key }) {
            retained += max(0, fact.high - fact.low)
            var start = fact.low
            var end = fact.high
            if byTime {
                switch fact.fromOffset {
                case .some(.some(let offset)): start = offset
                case .some(.none): start = fact.high
                case .none: break
                }
                if case .some(.some(let offset)) = fact.toOffset { end = offset }
            }
            start = min(max(start, fact.low), fact.high)
            end = min(max(end, start), fact.high)
            if end > start { spans.append(PartitionSpan(partition: partition, start: start, end: end)) }
        }
        return ReplayPlan(spans: spans, byTime: byTime, retained: retained)
    }

    /// Asks the brokers: watermarks of every partition, then offsets for the range's times. Whether the brokers
    /// resolve times at all is learnt by asking for time 0, which every real broker answers with a non-empty
    /// partition's first offset.
    static func lookUp(_ consumer: KafkaConsumer, topic: String, partitions: Int, range: ReplayRange,
                       timeout: Duration) throws -> ReplayPlan {
        let all = (0..<partitions).map { TopicPartition(topic, Int32($0)) }
        var facts: [TopicPartition: PartitionFacts] = [:]
        for partition in all {
            let marks = try consumer.watermarks(partition, timeout: timeout)
            facts[partition] = PartitionFacts(low: marks.low, high: marks.high)
        }
        let nonEmpty = all.filter { facts[$0]!.high > facts[$0]!.low }
        guard !nonEmpty.isEmpty else { return make(facts, byTime: true) }
        let probe = try consumer.offsets(atOrAfter: 0, for: nonEmpty, timeout: timeout)
        let byTime = nonEmpty.allSatisfy { probe[$0] != nil && probe[$0]! != nil }
        guard byTime else { return make(facts, byTime: false) }
        let from = try consumer.offsets(atOrAfter: range.kafkaFromMilliseconds, for: nonEmpty, timeout: timeout)
        let to = try range.kafkaToMilliseconds.map { try consumer.offsets(atOrAfter: $0, for: nonEmpty, timeout: timeout) }
        for partition in nonEmpty {
            facts[partition]!.fromOffset = .some(from[partition] ?? nil)
            if let to { facts[partition]!.toOffset = .some(to[partition] ?? nil) }
        }
        return make(facts, byTime: true)
    }
}
