import Kafka
import Rules

/// Falco's Kafka output, with routing: each alert is produced to the topic of the first route
/// that matches it, or to `topic` when none does. Key and headers follow the alerts topic's
/// contract (key `<cluster>`, headers `cluster`, `rule`, `priority`); the value is the alert's JSON.
/// Topics may live on the pipeline's cluster (the default) or another one (`brokers`), with any
/// librdkafka setting (`settings`). Produced with the idempotent producer (acks=all); a delivery
/// returns once every alert of the batch is acknowledged.
///
/// ```yaml
/// - name: topics
///   type: kafka
///   topic: k8s-audit.alerts.all            # alerts no route takes
///   routes:                                 # first match wins; within a route every condition given must hold
///     - topic: k8s-audit.alerts.critical
///       minimum_priority: critical          # Critical, Alert, Emergency
///     - topic: k8s-audit.alerts.rbac
///       tags: [rbac]                        # any of these tags
///     - topic: k8s-audit.alerts.prod
///       clusters: [prod-eu, prod-us]        # any of these clusters
///       rules: [Pod exec]                   # any of these rules
///   brokers: other-kafka:9092               # optional: another cluster
///   settings: {linger.ms: "20"}             # optional librdkafka settings
/// ```
public final class KafkaOutput: AlertOutput {
    public struct Route: Decodable, Sendable, Equatable {
        public var topic: String
        public var minimumPriority: Priority?
        public var rules: Set<String>?
        public var tags: Set<String>?
        public var clusters: Set<String>?

        public init(topic: String, minimumPriority: Priority? = nil, rules: Set<String>? = nil, tags: Set<String>? = nil,
                    clusters: Set<String>? = nil) {
            self.topic = topic
            self.minimumPriority = minimumPriority
            self.rules = rules
            self.tags = tags
            self.clusters = clusters
        }

        enum CodingKeys: String, CodingKey {
            case topic, minimumPriority, rules, tags, clusters
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            topic = try container.decode(String.self, forKey: .topic)
            minimumPriority = try container.decodePriorityIfPresent(forKey: .minimumPriority)
            rules = try container.decodeIfPresent([String].self, forKey: .rules).map(Set.init)
            tags = try container.decodeIfPresent([String].self, forKey: .tags).map(Set.init)
            clusters = try container.decodeIfPresent([String].self, forKey: .clusters).map(Set.init)
            if minimumPriority == nil, rules == nil, tags == nil, clusters == nil {
                throw DecodingError.dataCorruptedError(
                    forKey: .topic, in: container,
                    debugDescription: "a route needs a condition: minimum_priority, rules, tags or clusters")
            }
        }

        public func matches(_ alert: Alert) -> Bool {
            if let minimumPriority, alert.priority > minimumPriority { return false }
            if let rules, !rules.contains(alert.rule) { return false }
            if let tags, !alert.tags.contains(where: tags.contains) { return false }
            if let clusters, !clusters.contains(alert.cluster) { return false }
            return true
        }
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "kafka"
        public var topic: String
        public var routes: [Route] = []
        public var brokers: String?
        public var settings: [String: String] = [:]

        enum CodingKeys: String, CodingKey {
            case topic, routes, brokers, settings
        }

        public init(topic: String, routes: [Route] = [], brokers: String? = nil, settings: [String: String] = [:]) {
            self.topic = topic
            self.routes = routes
            self.brokers = brokers
            self.settings = settings
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            topic = try container.decode(String.self, forKey: .topic)
            routes = try container.decodeIfPresent([Route].self, forKey: .routes) ?? []
            brokers = try container.decodeIfPresent(String.self, forKey: .brokers)
            settings = try container.decodeIfPresent([String: String].self, forKey: .settings) ?? [:]
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            var configuration = context.kafka
            if let brokers { configuration["bootstrap.servers"] = brokers }
            for (key, value) in settings { configuration[key] = value }
            return try KafkaOutput(name: common.name, configuration: self,
                                   producer: KafkaProducer(configuration: configuration))
        }
    }

    public let name: String
    public var maxBatchSize: Int { 10_000 }
    private let configuration: Configuration
    private let producer: KafkaProducer

    public init(name: String, configuration: Configuration, producer: KafkaProducer) {
        self.name = name
        self.configuration = configuration
        self.producer = producer
    }

    /// The topic an alert goes to.
    public func topic(for alert: Alert) -> String {
        configuration.routes.first { $0.matches(alert) }?.topic ?? configuration.topic
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        let records = alerts.map { alert in
            KafkaRecord(topic: topic(for: alert.alert), key: alert.key ?? Array(alert.alert.cluster.utf8), value: alert.json,
                        headers: [KafkaHeader("cluster", alert.alert.cluster), KafkaHeader("rule", alert.alert.rule),
                                  KafkaHeader("priority", alert.alert.priority.name)])
        }
        let results = await producer.send(records)
        var permanent: KafkaError?
        for case .failure(let error) in results {
            // Any retriable failure retries the batch (the acknowledged alerts are sent again: at least once).
            if Self.isPermanent(error) {
                permanent = error
            } else {
                throw DeliveryFailure.transient("produce failed: \(error)")
            }
        }
        if let permanent { throw DeliveryFailure.permanent("produce refused: \(permanent)") }
    }

    public func shutdown() async {
        producer.close()
    }

    /// Errors no retry can fix: the message or topic is refused as it is.
    static func isPermanent(_ error: KafkaError) -> Bool {
        ["MSG_SIZE_TOO_LARGE", "_MSG_SIZE_TOO_LARGE", "INVALID_MSG", "CORRUPT_MESSAGE", "INVALID_RECORD",
         "TOPIC_AUTHORIZATION_FAILED", "INVALID_TOPIC_EXCEPTION", "RECORD_LIST_TOO_LARGE", "_INVALID_ARG",
         "UNSUPPORTED_FOR_MESSAGE_FORMAT", "POLICY_VIOLATION"].contains(error.name)
    }
}
