import Dispatch
import Foundation
import Kafka
import Rules
import Synchronization

/// Alerts to a Kafka topic, as records in the engine's shape (key and headers from `PipelineRecords`).
/// Sends without waiting per batch; `finish` waits for every acknowledgement and reports what failed.
final class ReplayTopicSink: ReplayAlertSink {
    private struct Failures {
        var count = 0
        var first: KafkaError?
    }

    private let producer: KafkaProducer
    private let topic: String
    private let pending = DispatchGroup()
    private let sent = Atomic<Int>(0)
    private let failures = Mutex(Failures())
    /// Records queued in librdkafka beyond which writers wait (the workers outpace a slow broker otherwise).
    private let queueLimit = 200_000

    init(configuration: KafkaConfiguration, topic: String) throws {
        var settings = configuration
        for (key, value) in EngineSettings.producerDefaults where settings[key] == nil { settings[key] = value }
        producer = try KafkaProducer(configuration: settings)
        self.topic = topic
    }

    func write(_ alerts: [(alert: Alert, json: [UInt8])]) {
        guard !alerts.isEmpty else { return }
        while producer.queuedCount > queueLimit { usleep(1000) }
        let records = alerts.map { PipelineRecords.alert($0.alert, json: $0.json, topic: topic) }
        sent.add(records.count, ordering: .relaxed)
        pending.enter()
        producer.send(records) { [self] results in
            failures.withLock { failures in
                for case .failure(let error) in results {
                    failures.count += 1
                    if failures.first == nil { failures.first = error }
                }
            }
            pending.leave()
        }
    }

    func finish() throws {
        // The producer's own message timeout (30 s by default) bounds each record; this bounds the whole.
        let answered = pending.wait(timeout: .now() + .seconds(120)) == .success
        producer.close(timeout: .seconds(5))
        let result = failures.withLock { $0 }
        let total = sent.load(ordering: .relaxed)
        if !answered {
            throw ReplayError.output("topic \(topic): not every alert was acknowledged within 120 s (\(total) sent)")
        }
        if result.count > 0 {
            throw ReplayError.output("topic \(topic): \(result.count) of \(total) alerts were not written: \(result.first!)")
        }
    }
}
