import Metrics

/// One output's delivery metrics, each labelled output=<name>.
public struct OutputMetrics: Sendable {
    /// Alerts the output accepted.
    public let delivered: Counter
    /// Attempts that failed transiently and were tried again (one per retried batch).
    public let retried: Counter
    /// Alerts sent to the dead-letter topic (refused, out of retries, or not alerts at all).
    public let deadLettered: Counter
    /// Alerts below the output's minimum_priority, committed past.
    public let filtered: Counter
    /// Alerts whose id was delivered within the de-duplication window.
    public let deduplicated: Counter
    /// How long successful deliveries took (one observation per batch).
    public let latency: Timer

    public init(output: String, factory: any MetricsFactory) {
        let dimensions = [("output", output)]
        delivered = Counter(label: "auditpipe_sink_delivered_total", dimensions: dimensions, factory: factory)
        retried = Counter(label: "auditpipe_sink_retried_total", dimensions: dimensions, factory: factory)
        deadLettered = Counter(label: "auditpipe_sink_dead_lettered_total", dimensions: dimensions, factory: factory)
        filtered = Counter(label: "auditpipe_sink_filtered_total", dimensions: dimensions, factory: factory)
        deduplicated = Counter(label: "auditpipe_sink_deduplicated_total", dimensions: dimensions, factory: factory)
        latency = Timer(label: "auditpipe_sink_delivery_duration_seconds", dimensions: dimensions, factory: factory)
    }
}
