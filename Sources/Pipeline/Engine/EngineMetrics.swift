import CoreMetrics
import Kafka
import Rules
import Synchronization

/// The engine's Prometheus metrics (`auditpipe_engine_*` on /metrics).
public final class EngineMetrics: Sendable {
    private let factory: any MetricsFactory
    let eventsIn: Counter
    let rejects: Counter
    private let alertCounters = Mutex<[AlertKey: Counter]>([:])
    let batchEvents: Recorder
    /// From a batch's close to the acknowledgement of its last alert.
    let batchLatency: Timer
    /// From the Kafka timestamp of a batch's oldest event (when ingress produced it) to its batch's acknowledgement.
    let endToEndLatency: Timer
    let evaluationTime: Timer
    let pausedPartitions: Gauge
    let assignedPartitions: Gauge
    let inFlightBatches: Gauge
    let inFlightBytes: Gauge
    private let lagGauges = Mutex<[TopicPartition: Gauge]>([:])
    let commits: Counter
    let commitFailures: Counter
    let produceRetries: Counter
    /// Alerts Kafka refused for good (too large, …): sent to the rejects topic instead.
    let alertsDeadLettered: Counter
    /// Records that could not be produced even to the rejects topic: logged, and lost.
    let dropped: Counter
    let reloadsSucceeded: Counter
    let reloadsFailed: Counter
    let loadedRules: Gauge
    let rebalances: Counter
    let abandonedBatches: Counter

    private struct AlertKey: Hashable {
        let rule: String
        let priority: Priority
    }

    public init(factory: any MetricsFactory) {
        self.factory = factory
        func counter(_ name: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: "auditpipe_engine_\(name)", dimensions: dimensions, factory: factory)
        }
        func gauge(_ name: String) -> Gauge { Gauge(label: "auditpipe_engine_\(name)", factory: factory) }
        func timer(_ name: String) -> Timer { Timer(label: "auditpipe_engine_\(name)", factory: factory) }
        eventsIn = counter("events_total")
        rejects = counter("rejects_total")
        batchEvents = Recorder(label: "auditpipe_engine_batch_events", aggregate: true, factory: factory)
        batchLatency = timer("batch_latency_seconds")
        endToEndLatency = timer("end_to_end_latency_seconds")
        evaluationTime = timer("evaluation_seconds")
        pausedPartitions = gauge("paused_partitions")
        assignedPartitions = gauge("assigned_partitions")
        inFlightBatches = gauge("in_flight_batches")
        inFlightBytes = gauge("in_flight_bytes")
        commits = counter("commits_total")
        commitFailures = counter("commit_failures_total")
        produceRetries = counter("produce_retries_total")
        alertsDeadLettered = counter("alerts_dead_lettered_total")
        dropped = counter("dropped_total")
        reloadsSucceeded = counter("rule_reloads_total", [("result", "ok")])
        reloadsFailed = counter("rule_reloads_total", [("result", "failed")])
        loadedRules = gauge("rules")
        rebalances = counter("rebalances_total")
        abandonedBatches = counter("abandoned_batches_total")
    }

    /// A worker evaluated a batch.
    func evaluated(_ batch: RawBatch, _ outcome: BatchOutcome) {
        eventsIn.increment(by: batch.count)
        batchEvents.record(batch.count)
        evaluationTime.recordNanoseconds(Int64(outcome.evaluationNanoseconds))
        var alerts: [AlertKey: Int] = [:]
        var rejected = 0
        for item in outcome.items {
            switch item {
            case .alert(let alert, _, _): alerts[AlertKey(rule: alert.rule, priority: alert.priority), default: 0] += 1
            case .reject: rejected += 1
            }
        }
        if rejected > 0 { rejects.increment(by: rejected) }
        guard !alerts.isEmpty else { return }
        let counters = alertCounters.withLock { counters in
            alerts.map { key, count in
                let counter = counters[key] ?? Counter(label: "auditpipe_engine_alerts_total",
                                                       dimensions: [("rule", key.rule), ("priority", key.priority.name)],
                                                       factory: factory)
                counters[key] = counter
                return (counter, count)
            }
        }
        for (counter, count) in counters { counter.increment(by: count) }
    }

    /// Consumer lag of the assigned partitions; gauges of partitions no longer assigned are removed.
    func recordLag(_ lag: [TopicPartition: Int64]) {
        lagGauges.withLock { gauges in
            for (partition, gauge) in gauges where lag[partition] == nil {
                gauge.destroy()
                gauges[partition] = nil
            }
            for (partition, value) in lag {
                let gauge = gauges[partition] ?? Gauge(label: "auditpipe_engine_consumer_lag",
                                                       dimensions: [("topic", partition.topic),
                                                                    ("partition", String(partition.partition))],
                                                       factory: factory)
                gauges[partition] = gauge
                gauge.record(value)
            }
        }
    }
}
