import CoreMetrics
import Prometheus

/// One Prometheus registry and the swift-metrics factory that writes into it. Stages
/// create their counters, timers and gauges with `factory` (never the global
/// MetricsSystem), so tests and `auditpipe run` decide which stages share a registry.
public final class PipelineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: any MetricsFactory

    /// Latency buckets from 100 µs to 30 s: webhook answers, produce acks and batch times all fit.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory.defaultValueHistogramBuckets = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000]
        self.registry = registry
        self.factory = factory
    }

    /// The Prometheus text exposition of everything registered.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}
