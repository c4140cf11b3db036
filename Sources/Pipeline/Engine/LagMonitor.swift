import Dispatch
import Kafka

/// Measures consumer lag (high watermark − committed offset) of the partitions this engine owns, every
/// `interval`, with a client of its own (the consumer belongs to its thread). Partitions with no
/// committed offset yet count from their first retained offset, where a new group starts.
struct LagMonitor {
    let admin: KafkaAdmin
    let interval: Duration
    let status: @Sendable () -> ConsumerLoop.Status
    let metrics: EngineMetrics

    /// Until cancelled.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            let status = status()
            let admin = admin
            // The watermark queries block (briefly, or up to their timeout with a broker away): off the
            // cooperative pool.
            let watermarks = await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: admin.watermarks(status.assigned)) }
            }
            var lag: [TopicPartition: Int64] = [:]
            for partition in status.assigned {
                guard let (low, high) = watermarks[partition] else { continue }
                lag[partition] = max(0, high - max(low, status.committed[partition] ?? low))
            }
            metrics.recordLag(lag)
        }
    }
}
