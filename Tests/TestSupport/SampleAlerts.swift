import Kafka
import Rules

/// Alerts for tests and benchmarks of the sink: distinct ids, priorities, rules, tags and clusters
/// in turn, shaped as the engine writes them (Falco's JSON plus auditpipe's keys).
public enum SampleAlerts {
    public static let rules = ["Pod exec", "Create Privileged Pod", "Read secret", "Attach to cluster-admin Role"]
    public static let clusters = ["prod-eu", "prod-us", "staging"]

    /// Alert number `index` (deterministic: the same index gives the same alert and id).
    public static func alert(_ index: Int, priority: Priority? = nil, cluster: String? = nil) -> Alert {
        let priorities: [Priority] = [.critical, .warning, .notice, .informational, .error]
        let rule = rules[index % rules.count]
        let cluster = cluster ?? clusters[index % clusters.count]
        let id = String(UInt64(index) &* 0x9e37_79b9_7f4a_7c15, radix: 16)
        let paddedID = String(repeating: "0", count: 32 - id.count) + id
        let time = 1_795_687_200_000_000_000 + Int64(index) * 1_000_000
        return Alert(
            time: time, rule: rule, priority: priority ?? priorities[index % priorities.count],
            output: "\(rule) by alice in web/api-\(index) (cluster=\(cluster))",
            outputFields: [("evt.time", .integer(time)), ("ka.user.name", .string("alice")),
                           ("ka.target.namespace", .string("web")), ("ka.target.name", .string("api-\(index)")),
                           ("ka.cluster.name", .string(cluster))],
            source: "k8s_audit", tags: index.isMultiple(of: 7) ? ["k8s", "rbac"] : ["k8s"], hostname: "engine-0",
            cluster: cluster, auditID: "audit-\(index)", id: paddedID,
            origin: Alert.Origin(topic: "k8s-audit.raw", partition: Int32(index % 24), offset: Int64(index)))
    }

    /// The alert as a record of the alerts topic (key `<cluster>`, headers cluster, rule, priority).
    public static func record(_ alert: Alert, topic: String = PipelineTopics().alerts) -> KafkaRecord {
        KafkaRecord(topic: topic, key: Array(alert.cluster.utf8), value: Array(AlertEncoder.json(alert).utf8),
                    headers: [KafkaHeader("cluster", alert.cluster), KafkaHeader("rule", alert.rule),
                              KafkaHeader("priority", alert.priority.name)])
    }
}
