import Dispatch
import Foundation
import Kafka

/// One assignment of a partition to this engine. A partition revoked and assigned again gets a new
/// generation, so that late news of batches from before (abandoned at revocation) is told apart.
struct BatchLane: Hashable, Sendable, CustomStringConvertible {
    let partition: TopicPartition
    let generation: UInt64

    var description: String { "\(partition)#\(generation)" }
}

/// A batch on its way through the engine: its events, its place in its lane (batches of a lane are
/// numbered from 0 in offset order; alerts are produced and offsets committed in that order), and
/// when it was closed (for the batch latency).
struct EngineBatch: Sendable {
    let raw: RawBatch
    let lane: BatchLane
    let sequence: UInt64
    /// Monotonic ns (`Monotonic.now`) when the batch was closed and handed to the workers.
    let closedAt: UInt64

    /// The next offset to read once this batch is done: what a commit after it says.
    var nextOffset: Int64 { (raw.lastOffset ?? -1) + 1 }
}

/// What a worker and the publisher report when a batch is done: every alert and reject acknowledged.
struct BatchReceipt: Sendable {
    let lane: BatchLane
    let sequence: UInt64
    let events: Int
    let bytes: Int
    let closedAt: UInt64
    /// Kafka timestamp (ms since the epoch) of the batch's oldest event: its end-to-end latency.
    let oldestTimestamp: Int64
}

/// Monotonic time in nanoseconds, for intervals (not wall-clock time).
enum Monotonic {
    @inline(__always)
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}

/// Starts a named thread (the name shows in `top -H`, `perf` and debuggers; Linux keeps 15 bytes of it).
enum NamedThread {
    static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            // Set from inside: Foundation names the system thread only for the current thread.
            Thread.current.name = name
            body()
        }
        thread.start()
    }
}
