import Rules

/// An alert as the sink hands it to outputs: the exact JSON the engine published (outputs
/// that forward JSON send these bytes unchanged) and its decoded fields (for routing,
/// priority filters and each service's own message format).
public struct OutputAlert: Sendable {
    public let json: [UInt8]
    public let alert: Alert
    /// The alerts topic's message key (`<cluster>`).
    public let key: [UInt8]?

    public init(json: [UInt8], alert: Alert, key: [UInt8]?) {
        self.json = json
        self.alert = alert
        self.key = key
    }
}

/// Why a delivery failed, which decides what the delivery policy does next.
public struct DeliveryFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Worth retrying (network error, timeout, 429, 5xx); `retryAfter` when the service said when.
        case transient(retryAfter: Duration?)
        /// Retrying cannot help (4xx other than 429, a payload the service refuses): dead-letter it.
        case permanent
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public static func transient(_ reason: String, retryAfter: Duration? = nil) -> DeliveryFailure {
        DeliveryFailure(.transient(retryAfter: retryAfter), reason)
    }

    public static func permanent(_ reason: String) -> DeliveryFailure {
        DeliveryFailure(.permanent, reason)
    }

    public var description: String { reason }
}

/// One destination for alerts (a topic, a file, Slack, Loki, …). The shared delivery policy
/// calls `deliver` with batches of at most `maxBatchSize` alerts and handles retries,
/// dead-lettering and commits; an output only formats and sends.
public protocol AlertOutput: Sendable {
    /// The output's name in the configuration; also its consumer group (`auditpipe-sink-<name>`).
    var name: String { get }
    /// The most alerts one delivery may carry (1 for services without a batch API).
    var maxBatchSize: Int { get }
    /// Delivers every alert of the batch, or throws `DeliveryFailure` (the whole batch is retried).
    func deliver(_ alerts: [OutputAlert]) async throws
    /// Releases connections and files; no delivery follows.
    func shutdown() async
}
