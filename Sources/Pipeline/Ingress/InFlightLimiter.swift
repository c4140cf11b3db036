import Synchronization

/// Counts the bytes of request bodies being read, decoded or produced, and refuses more than `limit` at once:
/// the ingress's memory stays bounded whatever the load, and an overloaded ingress answers 429 at once instead of
/// queueing. Requests hold their bytes in a `Reservation` until Kafka has answered for their events.
final class InFlightLimiter: Sendable {
    let limit: Int
    private let inFlight = Atomic<Int>(0)
    private let onChange: @Sendable (Int) -> Void

    /// `onChange` sees the total after each change (for the in-flight gauge).
    init(limit: Int, onChange: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.limit = limit
        self.onChange = onChange
    }

    var current: Int { inFlight.load(ordering: .relaxed) }

    /// An empty reservation that grows as a body arrives.
    func reserve() -> Reservation { Reservation(limiter: self) }

    /// Takes `bytes` if the total stays within the limit.
    fileprivate func tryAcquire(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = inFlight.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = inFlight.compareExchange(expected: current, desired: current + bytes,
                                                                 ordering: .acquiringAndReleasing)
            if exchanged {
                // The total as it is now, not as this change left it: concurrent changes may report out of order.
                onChange(self.current)
                return true
            }
            current = original
        }
    }

    fileprivate func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        inFlight.subtract(bytes, ordering: .acquiringAndReleasing)
        onChange(current)
    }

    /// One request's share of the limit. Released when the request's events are settled (or when dropped).
    final class Reservation: Sendable {
        private let limiter: InFlightLimiter
        private let held = Mutex(0)

        fileprivate init(limiter: InFlightLimiter) {
            self.limiter = limiter
        }

        deinit { release() }

        var bytes: Int { held.withLock { $0 } }

        /// Grows the reservation to `total` bytes; false (and unchanged) if the limit does not allow it.
        func grow(to total: Int) -> Bool {
            held.withLock { held in
                guard total > held else { return true }
                guard limiter.tryAcquire(total - held) else { return false }
                held = total
                return true
            }
        }

        /// Shrinks the reservation to `total` bytes (what is still held after a step freed memory).
        func shrink(to total: Int) {
            held.withLock { held in
                guard total < held else { return }
                limiter.release(held - max(total, 0))
                held = max(total, 0)
            }
        }

        func release() { shrink(to: 0) }
    }
}
