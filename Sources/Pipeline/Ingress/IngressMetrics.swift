import CoreMetrics
import Synchronization

/// The ingress's Prometheus metrics (`auditpipe_ingress_*`), written into the stage's registry.
final class IngressMetrics: Sendable {
    private let factory: any MetricsFactory
    private let requestCounters = Mutex<[Int: Counter]>([:])
    private let kafkaErrorCounters = Mutex<[String: Counter]>([:])

    /// Audit events acknowledged by Kafka on the raw topic.
    let events: Counter
    /// EventList items sent to the rejects topic (not audit events, or too large).
    let rejectedEvents: Counter
    /// Request body bytes as received (before gzip decoding).
    let receivedBytes: Counter
    /// Request body bytes after decoding (what was split into events).
    let decodedBytes: Counter
    /// Bodies refused as a whole (400, 413, 415): the apiserver does not resend them, so these events are lost.
    let refusedBodies: Counter
    /// From handing a request's records to the producer until Kafka answered for all of them.
    let produceDuration: Timer
    /// From the request's arrival until its answer.
    let requestDuration: Timer
    /// Bytes held by requests being read, decoded or produced.
    let inflightBytes: Gauge
    /// Times the tokens file changed but could not be read (the previous tokens stay in force).
    let tokenReloadFailures: Counter

    init(factory: any MetricsFactory) {
        self.factory = factory
        events = Counter(label: "auditpipe_ingress_events_total", factory: factory)
        rejectedEvents = Counter(label: "auditpipe_ingress_rejected_events_total", factory: factory)
        receivedBytes = Counter(label: "auditpipe_ingress_received_bytes_total", factory: factory)
        decodedBytes = Counter(label: "auditpipe_ingress_decoded_bytes_total", factory: factory)
        refusedBodies = Counter(label: "auditpipe_ingress_refused_bodies_total", factory: factory)
        produceDuration = Timer(label: "auditpipe_ingress_produce_duration_seconds", factory: factory)
        requestDuration = Timer(label: "auditpipe_ingress_request_duration_seconds", factory: factory)
        inflightBytes = Gauge(label: "auditpipe_ingress_inflight_bytes", factory: factory)
        tokenReloadFailures = Counter(label: "auditpipe_ingress_token_reload_failures_total", factory: factory)
    }

    /// Counts an answer by its HTTP status.
    func request(status: Int) {
        counter(in: requestCounters, status, label: "auditpipe_ingress_requests_total", dimension: ("status", "\(status)"))
            .increment()
    }

    /// Counts a failed produce by librdkafka's error name (`_MSG_TIMED_OUT`, `_QUEUE_FULL`, …).
    func kafkaError(_ name: String, count: Int = 1) {
        counter(in: kafkaErrorCounters, name, label: "auditpipe_ingress_kafka_errors_total", dimension: ("error", name))
            .increment(by: count)
    }

    private func counter<Key: Hashable & Sendable>(in cache: borrowing Mutex<[Key: Counter]>, _ key: Key, label: String,
                                                   dimension: (String, String)) -> Counter {
        cache.withLock { counters in
            if let known = counters[key] { return known }
            let counter = Counter(label: label, dimensions: [dimension], factory: factory)
            counters[key] = counter
            return counter
        }
    }
}

extension Timer {
    func record(_ duration: Duration) {
        recordNanoseconds(WebhookEndpoint.nanoseconds(duration))
    }
}
