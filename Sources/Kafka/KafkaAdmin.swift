import CRdKafka

/// A topic as the cluster describes it.
public struct TopicDescription: Sendable, Equatable {
    public let name: String
    public let partitions: Int
    /// Replicas of the first partition (all partitions of a topic share the factor in practice).
    public let replicationFactor: Int
}

/// Cluster metadata: brokers and topics (used by readiness checks and to verify topics exist).
public final class KafkaAdmin: @unchecked Sendable {
    private let handle: OpaquePointer

    public init(configuration: KafkaConfiguration) throws {
        let conf = try configuration.makeNative()
        handle = try KafkaConfiguration.createClient(RD_KAFKA_PRODUCER, conf, what: "a Kafka admin client")
    }

    deinit { rd_kafka_destroy(handle) }

    /// Every topic the cluster knows (internal ones such as __consumer_offsets excluded), by name.
    /// Fails when no broker answers within `timeout`.
    public func describeTopics(timeout: Duration = .seconds(5)) throws -> [String: TopicDescription] {
        try withMetadata(allTopics: true, timeout: timeout) { metadata in
            var topics: [String: TopicDescription] = [:]
            for index in 0..<Int(metadata.topic_cnt) {
                let topic = metadata.topics[index]
                let name = String(cString: topic.topic)
                guard !name.hasPrefix("__"), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let replicas = topic.partition_cnt > 0 ? Int(topic.partitions[0].replica_cnt) : 0
                topics[name] = TopicDescription(name: name, partitions: Int(topic.partition_cnt), replicationFactor: replicas)
            }
            return topics
        }
    }

    /// The number of brokers that answered the metadata request.
    public func brokerCount(timeout: Duration = .seconds(5)) throws -> Int {
        try withMetadata(allTopics: false, timeout: timeout) { Int($0.broker_cnt) }
    }

    private func withMetadata<Result>(allTopics: Bool, timeout: Duration,
                                      _ body: (rd_kafka_metadata) throws -> Result) throws -> Result {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(handle, allTopics ? 1 : 0, nil, &metadata, KafkaConsumer.milliseconds(timeout))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: Int32(result.rawValue), context: "read cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return try body(metadata.pointee)
    }
}
