import Synchronization

/// Workers finish batches in any order; alerts of one partition must be produced in event order.
/// The sequencer hands evaluated batches to `release` in sequence order per lane, from whichever
/// worker completes the next one in line, and never holds its lock while releasing: a worker that
/// finds another releasing its lane leaves the batch for that one to pick up.
final class PartitionSequencer: Sendable {
    typealias Release = @Sendable (EngineBatch, BatchOutcome) -> Void

    private struct LaneState {
        var next: UInt64 = 0
        var ready: [UInt64: (EngineBatch, BatchOutcome)] = [:]
        var releasing = false
        /// Set when the lane was revoked: forget it once this many batches went through.
        var retireAfter: UInt64?

        var isDone: Bool { retireAfter.map { next >= $0 } ?? false }
    }

    private let lanes = Mutex<[BatchLane: LaneState]>([:])
    private let release: Release

    init(release: @escaping Release) {
        self.release = release
    }

    /// A worker evaluated `batch`.
    func complete(_ batch: EngineBatch, _ outcome: BatchOutcome) {
        let lane = batch.lane
        var inLine = lanes.withLock { lanes -> [(EngineBatch, BatchOutcome)] in
            lanes[lane, default: LaneState()].ready[batch.sequence] = (batch, outcome)
            guard !lanes[lane]!.releasing else { return [] }
            let inLine = Self.takeInLine(&lanes[lane]!)
            // Releasing outside the lock: others leave their batches for this thread meanwhile.
            lanes[lane]!.releasing = !inLine.isEmpty
            return inLine
        }
        while !inLine.isEmpty {
            for (batch, outcome) in inLine { release(batch, outcome) }
            inLine = lanes.withLock { lanes -> [(EngineBatch, BatchOutcome)] in
                let more = Self.takeInLine(&lanes[lane]!)
                if more.isEmpty {
                    lanes[lane]!.releasing = false
                    if lanes[lane]!.isDone { lanes[lane] = nil }
                }
                return more
            }
        }
    }

    /// The lane was revoked after `handedOut` batches: forget it once they all went through.
    func retire(_ lane: BatchLane, handedOut: UInt64) {
        lanes.withLock { lanes in
            if lanes[lane] == nil {
                if handedOut == 0 { return }
                lanes[lane] = LaneState()
            }
            lanes[lane]!.retireAfter = handedOut
            if lanes[lane]!.isDone, !lanes[lane]!.releasing { lanes[lane] = nil }
        }
    }

    /// Lanes still known (for tests: retired lanes are forgotten).
    var laneCount: Int { lanes.withLock { $0.count } }

    private static func takeInLine(_ state: inout LaneState) -> [(EngineBatch, BatchOutcome)] {
        var taken: [(EngineBatch, BatchOutcome)] = []
        while let next = state.ready.removeValue(forKey: state.next) {
            taken.append(next)
            state.next += 1
        }
        return taken
    }
}
