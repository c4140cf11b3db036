import Kafka

/// Gathers consumed messages into batches, one open batch per assigned partition, and closes a
/// batch when it holds `maxEvents` events or its first event has waited `maxWait`. Owned by the
/// consumer thread (not thread-safe), like the consumer it is fed from.
struct Batcher {
    private struct Lane {
        let lane: BatchLane
        var nextSequence: UInt64 = 0
        var open: RawBatch?
        var openedAt: UInt64 = 0
        /// Sizes of the last closed batch: capacity hints for the next one.
        var lastEvents = 0
        var lastBytes = 0
    }

    let topic: String
    let maxEvents: Int
    let maxWait: UInt64
    /// By partition number (partitions are numbered from 0, and an engine sees a few hundred at most).
    /// Lanes are mutated in place: a copy of one would copy its open batch's buffers.
    private var lanes: [Lane?] = []
    /// Bytes held in open batches.
    private(set) var openBytes = 0

    init(topic: String, maxEvents: Int, maxWait: Duration) {
        self.topic = topic
        self.maxEvents = maxEvents
        self.maxWait = Monotonic.nanoseconds(maxWait)
    }

    /// Starts batching a partition, for one assignment of it.
    mutating func assign(_ lane: BatchLane) {
        let index = Int(lane.partition.partition)
        if lanes.count <= index { lanes += Array(repeating: nil, count: index + 1 - lanes.count) }
        lanes[index] = Lane(lane: lane)
    }

    /// Stops batching a partition; returns its open batch, closed, if it had one, and how many batches
    /// of the lane were handed out in all (the sequencer forgets the lane once that many went through).
    mutating func revoke(_ partition: TopicPartition, now: UInt64) -> (last: EngineBatch?, handedOut: UInt64)? {
        let index = Int(partition.partition)
        guard index < lanes.count, lanes[index] != nil else { return nil }
        let last = Self.close(&lanes[index]!, openBytes: &openBytes, now: now)
        let handedOut = lanes[index]!.nextSequence
        lanes[index] = nil
        return (last, handedOut)
    }

    /// Adds a message of an assigned partition (others are ignored: they come from before a
    /// revocation and are read again by whoever owns the partition). Returns the batch it filled.
    mutating func add(_ message: KafkaMessageView, now: UInt64) -> EngineBatch? {
        let index = Int(message.partition)
        guard index >= 0, index < lanes.count, lanes[index] != nil else { return nil }
        return Self.add(message, to: &lanes[index]!, openBytes: &openBytes, maxEvents: maxEvents, now: now)
    }

    private static func add(_ message: KafkaMessageView, to lane: inout Lane, openBytes: inout Int, maxEvents: Int,
                            now: UInt64) -> EngineBatch? {
        if lane.open == nil {
            lane.open = RawBatch(partition: lane.lane.partition, expectedEvents: min(maxEvents, max(lane.lastEvents, 16)),
                                 expectedBytes: lane.lastBytes)
            lane.openedAt = now
        }
        let before = lane.open!.byteCount
        lane.open!.append(message)
        openBytes += lane.open!.byteCount - before
        return lane.open!.count >= maxEvents ? close(&lane, openBytes: &openBytes, now: now) : nil
    }

    /// Closes the batches whose first event has waited `maxWait`.
    mutating func closeExpired(now: UInt64) -> [EngineBatch] {
        var closed: [EngineBatch] = []
        for index in lanes.indices where lanes[index]?.open != nil && now &- lanes[index]!.openedAt >= maxWait {
            if let batch = Self.close(&lanes[index]!, openBytes: &openBytes, now: now) { closed.append(batch) }
        }
        return closed
    }

    /// Closes every open batch (shutdown: what was read is finished).
    mutating func closeAll(now: UInt64) -> [EngineBatch] {
        var closed: [EngineBatch] = []
        for index in lanes.indices where lanes[index]?.open != nil {
            if let batch = Self.close(&lanes[index]!, openBytes: &openBytes, now: now) { closed.append(batch) }
        }
        return closed
    }

    /// When the oldest open batch must close (monotonic ns), nil if none is open.
    var nextDeadline: UInt64? {
        lanes.lazy.compactMap { $0 }.filter { $0.open != nil }.map { $0.openedAt + maxWait }.min()
    }

    private static func close(_ lane: inout Lane, openBytes: inout Int, now: UInt64) -> EngineBatch? {
        guard let batch = lane.open else { return nil }
        lane.open = nil
        openBytes -= batch.byteCount
        lane.lastEvents = batch.count
        lane.lastBytes = batch.byteCount
        defer { lane.nextSequence += 1 }
        return EngineBatch(raw: batch, lane: lane.lane, sequence: lane.nextSequence, closedAt: now)
    }
}
