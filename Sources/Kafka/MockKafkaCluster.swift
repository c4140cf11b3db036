import CRdKafka

/// librdkafka's mock cluster: real brokers speaking the Kafka protocol on
/// loopback ports, with consumer groups and fault injection. Data lives in
/// memory only, and only the last few MB of each partition. For `auditpipe
/// kafka dev`, the embedded default of `auditpipe run`, and the tests.
public final class MockKafkaCluster: @unchecked Sendable {
    private let owner: OpaquePointer
    private let cluster: OpaquePointer
    public let brokerCount: Int
    /// `host:port,host:port,...` for clients.
    public let bootstrapServers: String

    public init(brokers: Int = 3) throws {
        precondition(brokers >= 1, "a cluster needs a broker")
        // The cluster belongs to a client instance; a producer that never produces will do.
        let conf = try KafkaConfiguration(["log_level": "3"]).makeNative()
        let owner = try KafkaConfiguration.createClient(RD_KAFKA_PRODUCER, conf, what: "the mock cluster's client")
        guard let cluster = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            throw KafkaError(configuration: "cannot start a mock Kafka cluster of \(brokers) brokers")
        }
        self.owner = owner
        self.cluster = cluster
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// A cluster with the pipeline's topics created (`auditpipe kafka dev`, `auditpipe run`, the benchmarks),
    /// each with `partitions` partitions and replicated on up to three brokers.
    public convenience init(brokers: Int, topics: PipelineTopics, partitions: Int) throws {
        try self.init(brokers: brokers)
        for topic in topics.all {
            try createTopic(topic, partitions: partitions, replicationFactor: min(3, brokers))
        }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    /// Creates a topic (replication is capped at the number of brokers).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let replication = Int32(min(replicationFactor, brokerCount))
        let result = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), replication)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: Int32(result.rawValue), context: "create topic \(name)")
        }
    }

    /// Takes a broker (1-based id) off the network, or brings it back.
    public func setBroker(_ id: Int32, up: Bool) throws {
        let result = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: Int32(result.rawValue), context: "set broker \(id) \(up ? "up" : "down")")
        }
    }

    /// Delays every answer of a broker (1-based id) by `latency`: a slow or distant Kafka. `.zero` removes the delay.
    public func setBroker(_ id: Int32, latency: Duration) throws {
        let result = rd_kafka_mock_broker_set_rtt(cluster, id, KafkaConsumer.milliseconds(latency))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: Int32(result.rawValue), context: "set broker \(id) latency")
        }
    }

    /// Moves a partition's leadership to a broker (1-based id): tests put one topic on a broker of its
    /// own, so that taking that broker down stalls only that topic.
    public func setLeader(topic: String, partition: Int32, broker: Int32) throws {
        let result = rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: Int32(result.rawValue), context: "move \(topic)[\(partition)] to broker \(broker)")
        }
    }

    /// Makes a broker the coordinator of a consumer group.
    public func setGroupCoordinator(group: String, broker: Int32) throws {
        let result = rd_kafka_mock_coordinator_set(cluster, "group", group, broker)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: Int32(result.rawValue), context: "make broker \(broker) coordinator of \(group)")
        }
    }

    /// Makes the next requests of an API (e.g. Produce = 0) fail with these errors, in order.
    public func injectErrors(apiKey: Int16, _ errors: [KafkaError]) {
        var codes = errors.map { rd_kafka_resp_err_t($0.code) }
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, &codes)
    }
}

/// Kafka protocol API keys used with fault injection.
public enum KafkaAPIKey {
    public static let produce: Int16 = 0
    public static let fetch: Int16 = 1
    public static let offsetCommit: Int16 = 8
}
