import Kafka

/// Which offsets may be committed: a batch's offsets only once it and every earlier batch of its
/// partition are acknowledged, so a commit never passes an event whose alerts are not in Kafka.
/// Owned by the consumer thread.
struct CommitTracker {
    private struct PartitionState {
        let generation: UInt64
        /// Sequence number of `pending[head]`.
        var firstSequence: UInt64 = 0
        /// Batches handed out and not yet committed past, in sequence order: (next offset, acknowledged).
        var pending: [(nextOffset: Int64, acknowledged: Bool)] = []
        var head = 0
        /// The next offset that may be committed (everything before it is acknowledged).
        var committable: Int64?
        /// The last committed next offset.
        var committed: Int64?

        var outstanding: Int { pending.count - head }
    }

    private var partitions: [TopicPartition: PartitionState] = [:]
    /// Batches handed out and not yet committed past, over all partitions.
    private(set) var uncommitted = 0

    mutating func assign(_ lane: BatchLane) {
        partitions[lane.partition] = PartitionState(generation: lane.generation)
    }

    /// A batch was handed to the workers. Batches of a lane arrive in sequence order.
    mutating func handedOut(_ batch: EngineBatch) {
        guard partitions[batch.lane.partition]?.generation == batch.lane.generation else { return }
        partitions[batch.lane.partition]!.pending.append((batch.nextOffset, false))
        uncommitted += 1
    }

    /// A batch is acknowledged; returns false for news of a lane that is gone (revoked since).
    @discardableResult
    mutating func acknowledged(_ lane: BatchLane, sequence: UInt64) -> Bool {
        guard partitions[lane.partition]?.generation == lane.generation else { return false }
        Self.acknowledge(&partitions[lane.partition]!, sequence: sequence, uncommitted: &uncommitted)
        return true
    }

    private static func acknowledge(_ state: inout PartitionState, sequence: UInt64, uncommitted: inout Int) {
        let index = state.head + Int(sequence - state.firstSequence)
        guard sequence >= state.firstSequence, index < state.pending.count else { return }
        state.pending[index].acknowledged = true
        while state.head < state.pending.count, state.pending[state.head].acknowledged {
            state.committable = state.pending[state.head].nextOffset
            state.head += 1
            state.firstSequence += 1
            uncommitted -= 1
        }
        if state.head > 64, state.head * 2 > state.pending.count {
            state.pending.removeFirst(state.head)
            state.head = 0
        }
    }

    /// Offsets that moved since the last commit (to commit now), by partition; `only` restricts them.
    func commits(only: Set<TopicPartition>? = nil) -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for (partition, state) in partitions where only?.contains(partition) ?? true {
            if let committable = state.committable, committable != state.committed { offsets[partition] = committable }
        }
        return offsets
    }

    /// Records that offsets were committed.
    mutating func committed(_ offsets: [TopicPartition: Int64]) {
        for (partition, offset) in offsets where partitions[partition] != nil {
            partitions[partition]!.committed = offset
        }
    }

    /// Batches of these partitions not yet committed past.
    func uncommitted(in set: Set<TopicPartition>) -> Int {
        set.reduce(0) { $0 + (partitions[$1]?.outstanding ?? 0) }
    }

    /// Forgets a partition (revoked); returns how many of its batches were left uncommitted (abandoned).
    mutating func remove(_ partition: TopicPartition) -> Int {
        guard let state = partitions.removeValue(forKey: partition) else { return 0 }
        uncommitted -= state.outstanding
        return state.outstanding
    }

    /// The last committed next offset of each partition (nil: none committed by this engine yet).
    var committedOffsets: [TopicPartition: Int64?] { partitions.mapValues(\.committed) }
}
