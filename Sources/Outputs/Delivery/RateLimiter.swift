/// At most `perSecond` deliveries a second, evenly spaced (no bursts: a service that allows one
/// message a second gets one a second). Every attempt counts, retries included, since each
/// reaches the service.
public struct RateLimiter: Sendable {
    public let interval: Duration
    private var next: ContinuousClock.Instant?

    public init(perSecond: Double) {
        precondition(perSecond > 0, "a rate limit must be positive")
        interval = .nanoseconds(Int64((1e9 / perSecond).rounded()))
    }

    /// When the next delivery may start, and books that slot.
    public mutating func reserve(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant {
        let slot = max(now, next ?? now)
        next = slot + interval
        return slot
    }
}
