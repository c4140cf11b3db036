import Kafka
import Rules

/// Kafka records in the shapes DESIGN.md fixes, for every stage that writes them.
public enum PipelineRecords {
    /// An alert for the alerts topic: key `<cluster>`, headers `cluster`, `rule`, `priority`.
    public static func alert(_ alert: Alert, json: [UInt8], topic: String) -> KafkaRecord {
        KafkaRecord(topic: topic, key: Array(alert.cluster.utf8), value: json,
                    headers: [KafkaHeader("cluster", alert.cluster), KafkaHeader("rule", alert.rule),
                              KafkaHeader("priority", alert.priority.name)])
    }

    /// Something a stage could not accept, as it arrived, for the rejects topic: no key, headers
    /// `reason` and `stage` (and `cluster` when known, so the sender can be found).
    public static func reject(value: [UInt8], reason: String, stage: String, cluster: String?, topic: String) -> KafkaRecord {
        var headers = [KafkaHeader("reason", reason), KafkaHeader("stage", stage)]
        if let cluster, !cluster.isEmpty { headers.append(KafkaHeader("cluster", cluster)) }
        return KafkaRecord(topic: topic, key: nil, value: value, headers: headers)
    }

    /// A batch's outcome as records, in event order: alerts to `topics.alerts`, rejects to `topics.rejects`.
    /// `events[i]` says which event of the batch record i stems from (to dead-letter it if it cannot be sent).
    public static func records(of outcome: BatchOutcome, batch: RawBatch, topics: PipelineTopics,
                               stage: String) -> (records: [KafkaRecord], events: [Int]) {
        var records: [KafkaRecord] = []
        var events: [Int] = []
        records.reserveCapacity(outcome.items.count)
        for item in outcome.items {
            switch item {
            case .alert(let alert, let json, let event):
                records.append(Self.alert(alert, json: json, topic: topics.alerts))
                events.append(event)
            case .reject(let event, let reason):
                records.append(Self.reject(value: batch.value(of: event), reason: reason, stage: stage,
                                           cluster: batch.cluster(of: event), topic: topics.rejects))
                events.append(event)
            }
        }
        return (records, events)
    }
}
