import Dispatch
import Kafka
import Synchronization

/// How far a replay has got, shared by the reading thread (which updates it once per poll) and whoever
/// shows progress (which samples it).
public final class ReplayProgress: Sendable {
    public struct Snapshot: Sendable {
        /// The planned spans, in partition order, and the next offset read in each.
        public var spans: [PartitionSpan] = []
        public var next: [Int64] = []
        /// Messages read from Kafka (in range or not).
        public var eventsRead: Int64 = 0
        public var alerts: Int64 = 0
        /// Monotonic ns when reading started (0: not yet).
        public var startedAt: UInt64 = 0
        public var finished = false

        public var total: Int64 { spans.reduce(0) { $0 + $1.count } }
        /// Offsets passed, all partitions together (messages read plus skipped offsets).
        public var done: Int64 {
            zip(spans, next).reduce(0) { $0 + min($1.0.count, max(0, $1.1 - $1.0.start)) }
        }
        public var fraction: Double { total == 0 ? 1 : Double(done) / Double(total) }

        /// The share of one partition's span read so far.
        public func fraction(of index: Int) -> Double {
            let span = spans[index]
            return span.count == 0 ? 1 : Double(min(span.count, max(0, next[index] - span.start))) / Double(span.count)
        }

        public func elapsedSeconds(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double {
            startedAt == 0 ? 0 : Double(now &- startedAt) / 1e9
        }

        /// Messages read per second since the start.
        public func rate(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double {
            let seconds = elapsedSeconds(now: now)
            return seconds > 0 ? Double(eventsRead) / seconds : 0
        }

        /// Seconds left at the rate so far; nil before anything was read.
        public func remainingSeconds(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Double? {
            let seconds = elapsedSeconds(now: now), passed = done
            guard seconds > 0, passed > 0 else { return nil }
            return Double(total - passed) * seconds / Double(passed)
        }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func start(_ spans: [PartitionSpan]) {
        state.withLock { state in
            state.spans = spans
            state.next = spans.map(\.start)
            state.startedAt = DispatchTime.now().uptimeNanoseconds
        }
    }

    func read(next: [Int64], events: Int64) {
        state.withLock { state in
            state.next = next
            state.eventsRead = events
        }
    }

    func alerted(_ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.alerts += Int64(count) }
    }

    func finish() {
        state.withLock { $0.finished = true }
    }
}
