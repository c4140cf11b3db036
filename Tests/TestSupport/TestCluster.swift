import Foundation
import Kafka

/// A dev cluster (librdkafka's mock brokers on loopback) with the pipeline's topics, for one test.
/// The mock keeps only a few MB per partition: tests give topics many partitions and small events.
public final class TestCluster: @unchecked Sendable {
    public let cluster: MockKafkaCluster
    public let topics: PipelineTopics
    public var bootstrapServers: String { cluster.bootstrapServers }

    public init(brokers: Int = 3, partitions: Int = 24, topics: PipelineTopics = PipelineTopics(),
                extraTopics: [String] = []) throws {
        cluster = try MockKafkaCluster(brokers: brokers)
        self.topics = topics
        for topic in topics.all + extraTopics {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(3, brokers))
        }
    }

    /// Client settings for this cluster, plus any extra librdkafka settings.
    public func configuration(_ extra: [String: String] = [:]) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: bootstrapServers, extra)
    }

    /// Produces records and fails the test if any is not acknowledged.
    public func produce(_ records: [KafkaRecord]) async throws {
        let producer = try KafkaProducer(configuration: configuration())
        defer { producer.close() }
        for result in await producer.send(records) { _ = try result.get() }
    }

    /// Reads a topic from the beginning with a fresh consumer group (an independent reader, as a
    /// downstream consumer would be) until `count` messages arrived or `limit` passed.
    public func read(_ topic: String, count: Int, limit: Duration = .seconds(30)) throws -> [KafkaMessage] {
        try read(topic, limit: limit) { $0.count >= count }
    }

    /// Reads a topic from the beginning with a fresh consumer group until `done` says what arrived is enough
    /// (say, every expected event, duplicates allowed) or `limit` passed.
    public func read(_ topic: String, limit: Duration = .seconds(30), until done: ([KafkaMessage]) -> Bool) throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(configuration: configuration(["session.timeout.ms": "6000"]),
                                         groupID: "test-reader-\(UUID().uuidString)")
        defer { consumer.close() }
        try consumer.subscribe([topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + limit
        while !done(messages), ContinuousClock.now < deadline {
            messages += try consumer.poll(maxMessages: 1000, timeout: .milliseconds(100))
        }
        return messages
    }

    /// Reads whatever a topic holds now: until `count` arrived, or nothing new came for `quiet`.
    public func readAll(_ topic: String, quiet: Duration = .seconds(2), limit: Duration = .seconds(30)) throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(configuration: configuration(["session.timeout.ms": "6000"]),
                                         groupID: "test-reader-\(UUID().uuidString)")
        defer { consumer.close() }
        try consumer.subscribe([topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + limit
        var lastArrival = ContinuousClock.now
        while ContinuousClock.now < deadline, ContinuousClock.now - lastArrival < quiet {
            let batch = try consumer.poll(maxMessages: 1000, timeout: .milliseconds(100))
            if !batch.isEmpty { lastArrival = ContinuousClock.now }
            messages += batch
        }
        return messages
    }
}
