import Foundation
import Kafka

/// Raw-topic history spanning days, for replay tests: compact audit events of two clusters whose
/// stageTimestamps step through the days, each written with a Kafka timestamp a second after its
/// stageTimestamp (as ingress would have written it), spread over every partition.
public struct ReplayHistory: Sendable {
    public enum Kind: Sendable, Equatable {
        /// `get secrets`: "Secret read" fires (the narrowed rule only for alice).
        case secretRead(user: String)
        /// `delete configmaps`: "Configmap deleted" fires.
        case configmapDelete
        /// `list pods`: no rule fires.
        case podList
    }

    public struct Event: Sendable {
        public let auditID: String
        public let cluster: String
        /// ns since the epoch.
        public let stageTime: Int64
        public let kind: Kind
        public let json: String
        public let partition: Int32
        /// Where Kafka stored it (after `produce`).
        public var offset: Int64 = -1
    }

    /// 2026-11-20T00:00:00Z.
    public static let firstDay: Int64 = 1_795_132_800 * 1_000_000_000
    public static let day: Int64 = 86_400 * 1_000_000_000
    public static let clusters = ["prod-eu", "prod-us"]

    public private(set) var events: [Event]

    /// `perDay` events a day for `days` days, evenly spaced from midnight.
    public init(days: Int = 4, perDay: Int = 48, partitions: Int = 24) {
        var events: [Event] = []
        let step = Self.day / Int64(perDay)
        for number in 0..<(days * perDay) {
            let time = Self.firstDay + Int64(number) * step + 1_000_000
            let cluster = Self.clusters[number % 2]
            let kind: Kind = switch number % 3 {
            case 0: .secretRead(user: number % 4 == 0 ? "alice" : "bob")
            case 1: .configmapDelete
            default: .podList
            }
            let id = "replay-\(number)"
            events.append(Event(auditID: id, cluster: cluster, stageTime: time, kind: kind,
                                json: Self.json(id: id, kind: kind, time: time),
                                partition: Int32(number % partitions)))
        }
        self.events = events
    }

    /// Writes the history to the raw topic and notes where each event went.
    public mutating func produce(to cluster: TestCluster) async throws {
        let producer = try KafkaProducer(configuration: cluster.configuration())
        defer { producer.close() }
        let records = events.map { event in
            KafkaRecord(topic: cluster.topics.raw, key: Array("\(event.cluster)/web".utf8), value: Array(event.json.utf8),
                        headers: [KafkaHeader("cluster", event.cluster)], partition: event.partition,
                        timestamp: event.stageTime / 1_000_000 + 1000)
        }
        let results = await producer.send(records)
        for (index, result) in results.enumerated() { events[index].offset = try result.get().offset }
    }

    /// Events whose stageTimestamp lies in `from..<to`, of the given clusters (all when empty).
    public func events(from: Int64, to: Int64, clusters: [String] = []) -> [Event] {
        events.filter { ($0.stageTime >= from && $0.stageTime < to) && (clusters.isEmpty || clusters.contains($0.cluster)) }
    }

    static func json(id: String, kind: Kind, time: Int64) -> String {
        let (verb, resource, user): (String, String, String) = switch kind {
        case .secretRead(let user): ("get", "secrets", user)
        case .configmapDelete: ("delete", "configmaps", "carol")
        case .podList: ("list", "pods", "dave")
        }
        return """
            {"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"\(id)","stage":"ResponseComplete","verb":"\(verb)",\
            "user":{"username":"\(user)"},"objectRef":{"resource":"\(resource)","namespace":"web","name":"\(id)"},\
            "stageTimestamp":"\(rfc3339(time))"}
            """
    }

    /// `2026-11-20T00:30:00.001Z` (ms precision is all the history uses).
    public static func rfc3339(_ nanoseconds: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(nanoseconds / 1_000_000) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Rules for the history: secret reads and configmap deletions.
    public static let rules = """
        - rule: Secret read
          desc: a secret was read
          condition: ka.verb=get and ka.target.resource=secrets
          output: secret %ka.target.name read by %ka.user.name
          priority: WARNING
          source: k8s_audit
          tags: [test]
        - rule: Configmap deleted
          desc: a configmap was deleted
          condition: ka.verb=delete and ka.target.resource=configmaps
          output: configmap %ka.target.name deleted by %ka.user.name
          priority: NOTICE
          source: k8s_audit
          tags: [test]

        """

    /// The rules after a change: "Secret read" narrowed to alice, "Configmap deleted" gone, "Pod listed" new.
    public static let changedRules = """
        - rule: Secret read
          desc: a secret was read by alice
          condition: ka.verb=get and ka.target.resource=secrets and ka.user.name=alice
          output: secret %ka.target.name read by %ka.user.name
          priority: WARNING
          source: k8s_audit
          tags: [test]
        - rule: Pod listed
          desc: pods were listed
          condition: ka.verb=list and ka.target.resource=pods
          output: pods listed by %ka.user.name
          priority: INFO
          source: k8s_audit
          tags: [test]

        """
}
