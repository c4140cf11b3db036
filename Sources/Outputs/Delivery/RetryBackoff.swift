/// Waits between attempts: exponential backoff with full jitter (a random wait between zero and
/// `initial · 2^(retry-1)`, capped at `maximum`), so outputs that failed together do not retry
/// together. A service's own Retry-After wins over the computed wait.
public struct RetryBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    /// The longest Retry-After honoured: a service asking for more is retried after this anyway,
    /// so a bogus header cannot stall an output for days.
    public static let longestRetryAfter = Duration.seconds(900)

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(maximum, initial)
    }

    public init(_ settings: RetrySettings) {
        self.init(initial: settings.initialBackoff.duration, maximum: settings.maxBackoff.duration)
    }

    /// The ceiling of the wait before retry number `retry` (1 for the first retry).
    public func ceiling(retry: Int) -> Duration {
        let doublings = min(max(retry - 1, 0), 40)
        let seconds = min(initial.seconds * Double(UInt64(1) << UInt64(doublings)), maximum.seconds)
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// The wait before retry number `retry`, after a failure that may say when to come back.
    public func delay<Generator: RandomNumberGenerator>(retry: Int, retryAfter: Duration?,
                                                        using generator: inout Generator) -> Duration {
        if let retryAfter { return min(max(retryAfter, .zero), Self.longestRetryAfter) }
        let ceiling = ceiling(retry: retry)
        guard ceiling > .zero else { return .zero }
        let nanoseconds = Int64.random(in: 0...ceiling.nanoseconds, using: &generator)
        return .nanoseconds(nanoseconds)
    }

    public func delay(retry: Int, retryAfter: Duration?) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(retry: retry, retryAfter: retryAfter, using: &generator)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
