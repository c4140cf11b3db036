import Synchronization

/// Asks a delivery loop to stop at its next safe point: an attempt in flight finishes, but no
/// new wait (backoff, rate limit) begins; what is not done is left uncommitted for next time.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)

    public init() {}

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    public func stop() { stopped.store(true, ordering: .releasing) }

    /// Sleeps until `deadline` or until stopped, whichever comes first; returns false when stopped.
    public func sleep(until deadline: ContinuousClock.Instant) async -> Bool {
        let slice = Duration.milliseconds(50)
        while !isStopped {
            let now = ContinuousClock.now
            if now >= deadline { return true }
            do {
                try await Task.sleep(until: min(deadline, now + slice), clock: .continuous)
            } catch {
                return false
            }
        }
        return false
    }

    public func sleep(for duration: Duration) async -> Bool {
        await sleep(until: .now + duration)
    }
}
