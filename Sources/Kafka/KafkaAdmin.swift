import CRdKafka

/// A topic as the cluster describes it.
public struct TopicDescription: Sendable, Equatable {
    public let name: String
    public let partitions: Int
    /// Replicas of the first partition (all partitions of a topic share the factor in practice).
    public let replicationFactor: Int
}

/// A topic to create: its partitions, replication and topic-level settings (`retention.ms`, `cleanup.policy`, …).
public struct NewTopic: Sendable, Equatable {
    public var name: String
    public var partitions: Int
    /// Copies of each partition; -1 leaves it to the broker's `default.replication.factor`.
    public var replicationFactor: Int
    /// Topic settings by Kafka's own names; the broker rejects unknown ones.
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What creating one topic did.
public enum TopicCreation: Sendable, Equatable {
    case created
    /// The topic was there already; its partitions and settings were left as they are.
    case alreadyExisted
}

/// Cluster metadata (brokers and topics, for readiness checks and to verify topics exist) and topic creation.
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

    /// Creates topics through the Admin API (CreateTopics) and waits for the brokers' answer.
    /// A topic that exists already counts as success (`.alreadyExisted`): creating the pipeline's topics is
    /// idempotent. Any other failure throws, naming the topic and the broker's reason; topics of the same call
    /// that were created stay created.
    /// `timeout` bounds the whole call; the brokers get the same time to finish creating the topics.
    @discardableResult
    public func createTopics(_ topics: [NewTopic], timeout: Duration = .seconds(30)) throws -> [String: TopicCreation] {
        guard !topics.isEmpty else { return [:] }
        let milliseconds = KafkaConsumer.milliseconds(timeout)
        var errorText = [CChar](repeating: 0, count: 512)
        var specs: [OpaquePointer?] = []
        defer { specs.withUnsafeMutableBufferPointer { rd_kafka_NewTopic_destroy_array($0.baseAddress, $0.count) } }
        for topic in topics {
            guard let spec = rd_kafka_NewTopic_new(topic.name, Int32(clamping: topic.partitions),
                                                   Int32(clamping: topic.replicationFactor), &errorText, errorText.count) else {
                throw KafkaError(configuration: "topic '\(topic.name)': \(Self.text(errorText))")
            }
            specs.append(spec)
            for (name, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                let result = rd_kafka_NewTopic_set_config(spec, name, value)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(code: Int32(result.rawValue), context: "topic '\(topic.name)' setting '\(name)'")
                }
            }
        }
        guard let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw KafkaError(configuration: "librdkafka: out of memory")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)

        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        specs.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue) }
        // The result arrives within the request timeout; the extra second covers librdkafka's own scheduling.
        guard let event = rd_kafka_queue_poll(queue, Int32(clamping: Int64(milliseconds) + 1000)) else {
            throw KafkaError(code: Int32(RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue), context: "create topics")
        }
        defer { rd_kafka_event_destroy(event) }
        let requestError = rd_kafka_event_error(event)
        if requestError != RD_KAFKA_RESP_ERR_NO_ERROR {
            let reason = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw Self.creationError(topics: topics.map(\.name), code: Int32(requestError.rawValue), reason: reason)
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(configuration: "create topics: librdkafka returned no CreateTopics result")
        }
        var count = 0
        guard let entries = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
        var outcomes: [String: TopicCreation] = [:]
        for index in 0..<count {
            let entry = entries[index]
            let name = String(cString: rd_kafka_topic_result_name(entry))
            let reason = rd_kafka_topic_result_error_string(entry).map { String(cString: $0) } ?? ""
            outcomes[name] = try Self.outcome(topic: name, code: Int32(rd_kafka_topic_result_error(entry).rawValue),
                                              reason: reason)
        }
        return outcomes
    }

    /// One topic's result: success, "already exists" (also success), or an error naming the topic.
    static func outcome(topic: String, code: Int32, reason: String) throws -> TopicCreation {
        switch code {
        case Int32(RD_KAFKA_RESP_ERR_NO_ERROR.rawValue): return .created
        case Int32(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue): return .alreadyExisted
        default: throw creationError(topics: [topic], code: code, reason: reason)
        }
    }

    /// An error that says which topics could not be created and why, in the broker's words when it gave some.
    static func creationError(topics: [String], code: Int32, reason: String) -> KafkaError {
        let what = "create topic\(topics.count == 1 ? "" : "s") \(topics.map { "'\($0)'" }.joined(separator: ", "))"
        let librdkafkaText = String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(code)))
        var explanation = reason.isEmpty ? librdkafkaText : reason
        let mockHint = "librdkafka's mock cluster has neither a controller nor CreateTopics: create its topics with "
            + "MockKafkaCluster.createTopic"
        if code == Int32(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE.rawValue)
            || code == Int32(RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION.rawValue) {
            explanation += " (the brokers do not offer the CreateTopics API; \(mockHint))"
        } else if reason.contains("waiting for controller") {
            // Topics are created by the controller broker; without one, librdkafka waits until the timeout.
            explanation += " (no broker answered as the cluster's controller; \(mockHint))"
        }
        return KafkaError(code: code, message: "\(what): \(explanation)")
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The low and high watermarks (first offset kept, next offset to be written) of partitions,
    /// asked of their leaders; a partition whose leader does not answer within `timeout` is left out.
    public func watermarks(_ partitions: [TopicPartition], timeout: Duration = .seconds(2)) -> [TopicPartition: (low: Int64, high: Int64)] {
        var result: [TopicPartition: (low: Int64, high: Int64)] = [:]
        for partition in partitions {
            var low: Int64 = 0, high: Int64 = 0
            if rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high,
                                                KafkaConsumer.milliseconds(timeout)) == RD_KAFKA_RESP_ERR_NO_ERROR {
                result[partition] = (low, high)
            }
        }
        return result
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
