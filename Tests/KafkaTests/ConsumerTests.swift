import Foundation
import Kafka
import TestSupport
import Testing

/// The consumer against librdkafka's mock cluster: groups, manual commits, pause/resume, rebalances, times.
@Suite(.serialized) struct ConsumerTests {
    static let topic = "events"

    /// A cluster with one topic of `partitions` partitions and `count` messages on it, keyed so they spread.
    static func populatedCluster(partitions: Int = 6, count: Int = 60) async throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(brokers: 3)
        try cluster.createTopic(topic, partitions: partitions)
        try await produce(cluster, range: 0..<count)
        return cluster
    }

    static func produce(_ cluster: MockKafkaCluster, range: Range<Int>) async throws {
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        defer { producer.close() }
        let records = range.map {
            KafkaRecord(topic: topic, key: Array("key-\($0)".utf8), value: Array("value-\($0)".utf8), headers: [KafkaHeader("n", "\($0)")])
        }
        for result in await producer.send(records) { _ = try result.get() }
    }

    static func consumer(_ cluster: MockKafkaCluster, group: String,
                         onRebalance: @escaping @Sendable (RebalanceEvent) -> Void = { _ in }) throws -> KafkaConsumer {
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers,
                                                                           ["session.timeout.ms": "6000"]),
                                         groupID: group, onRebalance: onRebalance)
        try consumer.subscribe([topic])
        return consumer
    }

    /// Polls until `count` messages arrived or 30 s passed.
    static func drain(_ consumers: [KafkaConsumer], until count: Int, limit: Duration = .seconds(30)) throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + limit
        while messages.count < count, ContinuousClock.now < deadline {
            for consumer in consumers { messages += try consumer.poll(maxMessages: 500, timeout: .milliseconds(100)) }
        }
        return messages
    }

    static func nextOffsets(_ messages: [KafkaMessage]) -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for message in messages {
            let key = TopicPartition(message.topic, message.partition)
            offsets[key] = max(offsets[key] ?? 0, message.offset + 1)
        }
        return offsets
    }

    @Test func aNewGroupStartsAtTheEarliestOffsetAndCommitsAreResumedFrom() async throws {
        let cluster = try await Self.populatedCluster()
        let first = try Self.consumer(cluster, group: "engine")
        let messages = try Self.drain([first], until: 60)
        #expect(messages.count == 60)
        #expect(Set(messages.map { String(decoding: $0.value, as: UTF8.self) }) == Set((0..<60).map { "value-\($0)" }))
        #expect(messages.allSatisfy { $0.header("n").map { "value-\($0)" } == String(decoding: $0.value, as: UTF8.self) })
        #expect(messages.allSatisfy { $0.timestamp != nil })
        try first.commit(Self.nextOffsets(messages))
        let committed = try first.committed((0..<6).map { TopicPartition(Self.topic, $0) })
        #expect(committed.compactMapValues { $0 }.values.reduce(0, +) == 60)
        first.close()

        try await Self.produce(cluster, range: 60..<70)
        let second = try Self.consumer(cluster, group: "engine")
        defer { second.close() }
        let rest = try Self.drain([second], until: 10)
        #expect(Set(rest.map { String(decoding: $0.value, as: UTF8.self) }) == Set((60..<70).map { "value-\($0)" }))
    }

    @Test func twoMembersShareThePartitionsThroughRebalances() async throws {
        let cluster = try await Self.populatedCluster()
        let events = EventLog()
        let one = try Self.consumer(cluster, group: "shared") { events.append("one", $0) }
        let two = try Self.consumer(cluster, group: "shared") { events.append("two", $0) }
        defer {
            one.close()
            two.close()
        }
        // Until the group settles a partition may be read by both (nothing is committed): at-least-once,
        // so count distinct messages, not deliveries.
        var seen = Set<String>()
        let readDeadline = ContinuousClock.now + .seconds(30)
        while seen.count < 60, ContinuousClock.now < readDeadline {
            for consumer in [one, two] {
                seen.formUnion(try consumer.poll(maxMessages: 500, timeout: .milliseconds(100))
                    .map { String(decoding: $0.value, as: UTF8.self) })
            }
        }
        #expect(seen == Set((0..<60).map { "value-\($0)" }))
        // Let the group settle, then the assignments must split the six partitions between the two.
        let deadline = ContinuousClock.now + .seconds(30)
        var assignments: ([TopicPartition], [TopicPartition]) = ([], [])
        while ContinuousClock.now < deadline {
            _ = try one.poll(maxMessages: 10, timeout: .milliseconds(50))
            _ = try two.poll(maxMessages: 10, timeout: .milliseconds(50))
            assignments = (try one.assignment(), try two.assignment())
            if !assignments.0.isEmpty && !assignments.1.isEmpty && assignments.0.count + assignments.1.count == 6 { break }
        }
        #expect(!assignments.0.isEmpty && !assignments.1.isEmpty)
        #expect(Set(assignments.0).isDisjoint(with: assignments.1))
        #expect(Set(assignments.0 + assignments.1) == Set((0..<6).map { TopicPartition(Self.topic, $0) }))
        #expect(events.contains { $0.0 == "one" && $0.1 == .assigned(assignments.0) })
        #expect(events.contains { $0.0 == "two" && $0.1 == .assigned(assignments.1) })
    }

    @Test func pausedPartitionsDeliverNothingUntilResumed() async throws {
        let cluster = try await Self.populatedCluster(partitions: 2, count: 0)
        let consumer = try Self.consumer(cluster, group: "pausing")
        defer { consumer.close() }
        // Wait for the assignment before pausing.
        let deadline = ContinuousClock.now + .seconds(30)
        while try consumer.assignment().count < 2, ContinuousClock.now < deadline {
            _ = try consumer.poll(maxMessages: 1, timeout: .milliseconds(100))
        }
        let paused = [TopicPartition(Self.topic, 0), TopicPartition(Self.topic, 1)]
        try consumer.pause(paused)
        try await Self.produce(cluster, range: 0..<20)
        let whilePaused = try Self.drain([consumer], until: 1, limit: .seconds(2))
        #expect(whilePaused.isEmpty)
        try consumer.resume(paused)
        #expect(try Self.drain([consumer], until: 20).count == 20)
    }

    @Test func offsetsForTimesAndWatermarks() async throws {
        let cluster = try await Self.populatedCluster(partitions: 1, count: 8)
        let consumer = try Self.consumer(cluster, group: "times")
        defer { consumer.close() }
        let partition = TopicPartition(Self.topic, 0)
        // librdkafka 2.0's mock brokers answer ListOffsets only for logical offsets, so a lookup by a real
        // timestamp is checked here for its "nothing that recent" answer; real brokers resolve both.
        let hourAhead = Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000
        let future = try consumer.offsets(atOrAfter: hourAhead, for: [partition])
        #expect(future[partition] == .some(nil))
        let marks = try consumer.watermarks(partition)
        #expect(marks.low == 0 && marks.high == 8)
    }
}

/// Rebalance events seen by consumers, from librdkafka's threads.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [(String, RebalanceEvent)] = []

    func append(_ who: String, _ event: RebalanceEvent) { lock.withLock { events.append((who, event)) } }

    func contains(where predicate: ((String, RebalanceEvent)) -> Bool) -> Bool { lock.withLock { events.contains(where: predicate) } }
}

/// The consumer's hot-path and engine-facing parts: in-place polling, confirmed asynchronous commits.
@Suite struct ConsumerInPlaceTests {
    @Test func messagesAreSeenInPlaceAndAsynchronousCommitsAreConfirmed() async throws {
        let cluster = try await ConsumerTests.populatedCluster(partitions: 3, count: 30)
        let confirmed = CommitLog()
        let consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers,
                                                                           ["session.timeout.ms": "6000"]),
                                         groupID: "in-place", onCommit: { confirmed.append($0) })
        defer { consumer.close() }
        try consumer.subscribe([ConsumerTests.topic])
        var next: [TopicPartition: Int64] = [:]
        var values: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(30)
        while values.count < 30, ContinuousClock.now < deadline {
            try consumer.poll(maxMessages: 100, timeout: .milliseconds(100)) { message in
                let value = String(decoding: message.value, as: UTF8.self)
                values.insert(value)
                #expect(message.header("n").map { "value-" + String(decoding: $0, as: UTF8.self) } == value)
                #expect(message.header("absent") == nil)
                #expect(message.key.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("key-") == true)
                #expect(message.timestamp != nil)
                next[TopicPartition(message.topic, message.partition)] = message.offset + 1
            }
        }
        #expect(values.count == 30)
        try consumer.commit(next, asynchronously: true)
        // The result arrives through poll, on this thread.
        let confirmedAll = try await eventually(within: .seconds(20)) {
            try consumer.poll(maxMessages: 1, timeout: .milliseconds(50)) { _ in }
            return confirmed.committed == next
        }
        #expect(confirmedAll)
        #expect(try consumer.committed(Array(next.keys)).mapValues { $0 ?? -1 } == next)
    }
}

/// Commit results, from the polling thread.
final class CommitLog: @unchecked Sendable {
    private let lock = NSLock()
    private var offsets: [TopicPartition: Int64] = [:]

    func append(_ result: CommitResult) { lock.withLock { offsets.merge(result.committed) { _, new in new } } }

    var committed: [TopicPartition: Int64] { lock.withLock { offsets } }
}
