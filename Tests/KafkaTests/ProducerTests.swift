import Foundation
import Kafka
import Testing
import TestSupport

/// The producer against librdkafka's mock cluster on loopback, read back by kcat (an independent client).
@Suite(.serialized) struct ProducerTests {
    /// Reads a topic from the beginning with kcat; bounded: kcat exits at the end of the topic or after 30 s.
    static func consumeWithKcat(_ bootstrap: String, topic: String) throws -> [String] {
        try CommandResult.run("/usr/bin/kcat", ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                                                "-f", "%p|%k|%h|%s\n", "-m", "30"])
            .stdoutText.split(separator: "\n").map(String.init)
    }

    @Test func acknowledgedMessagesAreReadBackWithKeysAndHeaders() async throws {
        let cluster = try MockKafkaCluster(brokers: 3)
        try cluster.createTopic("k8s-audit.raw", partitions: 6, replicationFactor: 3)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        defer { producer.close() }
        let records = (0..<50).map { index in
            KafkaRecord(topic: "k8s-audit.raw", key: Array("prod/ns-\(index % 5)".utf8), value: Array("{\"n\":\(index)}".utf8),
                        headers: [KafkaHeader("cluster", "prod"), KafkaHeader("source-ip", "127.0.0.1")])
        }
        let results = await producer.send(records)
        let reports = try results.map { try $0.get() }
        #expect(reports.count == 50)
        #expect(reports.allSatisfy { $0.topic == "k8s-audit.raw" && (0..<6).contains($0.partition) && $0.offset >= 0 })
        // The same key always lands on the same partition.
        let partitionsByKey = Dictionary(grouping: zip(records, reports), by: { $0.0.key! }).mapValues { Set($0.map(\.1.partition)) }
        #expect(partitionsByKey.values.allSatisfy { $0.count == 1 })

        let lines = try Self.consumeWithKcat(cluster.bootstrapServers, topic: "k8s-audit.raw")
        #expect(lines.count == 50)
        #expect(Set(lines.map { $0.split(separator: "|").last.map(String.init) ?? "" }) == Set((0..<50).map { "{\"n\":\($0)}" }))
        #expect(lines.allSatisfy { $0.contains("cluster=prod,source-ip=127.0.0.1") })
    }

    @Test func aRecordsTimestampIsTheMessagesCreateTime() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        try cluster.createTopic("history", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        defer { producer.close() }
        // Days ago, and now (no timestamp given).
        let past: Int64 = 1_795_132_800_123
        _ = try await producer.send(KafkaRecord(topic: "history", value: Array("old".utf8), partition: 0, timestamp: past))
        _ = try await producer.send(KafkaRecord(topic: "history", value: Array("new".utf8), partition: 0))
        let lines = try CommandResult.run("/usr/bin/kcat", ["-b", cluster.bootstrapServers, "-C", "-t", "history", "-o", "beginning",
                                                            "-e", "-q", "-f", "%T %s\n", "-m", "30"]).stdoutText
            .split(separator: "\n").map(String.init)
        #expect(lines.first == "\(past) old")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let produced = try #require(lines.last.flatMap { Int64($0.split(separator: " ")[0]) })
        #expect(abs(produced - now) < 600_000, "no timestamp: the time it was produced")
    }

    @Test func sendReturnsTheBrokersOffset() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        try cluster.createTopic("t", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        defer { producer.close() }
        let first = try await producer.send(KafkaRecord(topic: "t", value: Array("a".utf8)))
        let second = try await producer.send(KafkaRecord(topic: "t", value: Array("b".utf8)))
        #expect(first.partition == 0 && second.partition == 0)
        #expect(second.offset == first.offset + 1)
    }

    @Test func anUnreachableClusterFailsWithinTheMessageTimeout() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        try cluster.createTopic("t", partitions: 1)
        try cluster.setBroker(1, up: false)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers, ["message.timeout.ms": "1500"]))
        defer { producer.close(timeout: .seconds(1)) }
        let results = await producer.send([KafkaRecord(topic: "t", value: Array("x".utf8))])
        guard case .failure(let error) = results[0] else {
            Issue.record("a message to a downed cluster was acknowledged")
            return
        }
        #expect(error.isTimeout, "\(error)")
    }

    @Test func injectedProduceErrorsAreRetriedByTheIdempotentProducer() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        try cluster.createTopic("t", partitions: 1)
        // NOT_ENOUGH_REPLICAS (19) is retriable: the producer retries and the message lands once.
        cluster.injectErrors(apiKey: KafkaAPIKey.produce, [KafkaError(code: 19), KafkaError(code: 19)])
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        defer { producer.close() }
        let report = try await producer.send(KafkaRecord(topic: "t", value: Array("once".utf8)))
        #expect(report.offset == 0)
        let lines = try Self.consumeWithKcat(cluster.bootstrapServers, topic: "t")
        #expect(lines.count == 1)
        #expect(lines.first?.hasSuffix("|once") == true)
    }

    @Test func aPermanentProduceErrorFailsTheMessageWithItsCode() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        try cluster.createTopic("t", partitions: 1)
        // MSG_SIZE_TOO_LARGE (10) is not retriable: the injected error reaches the caller.
        cluster.injectErrors(apiKey: KafkaAPIKey.produce, [KafkaError(code: 10)])
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        defer { producer.close() }
        let results = await producer.send([KafkaRecord(topic: "t", value: Array("x".utf8))])
        guard case .failure(let error) = results[0] else {
            Issue.record("the injected produce error was not reported")
            return
        }
        #expect(error.code == 10, "\(error)")
    }

    @Test func sendingAfterCloseFailsAtOnce() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        producer.close()
        let results = await producer.send([KafkaRecord(topic: "t", value: Array("late".utf8))])
        guard case .failure(let error) = results[0] else {
            Issue.record("a send after close was acknowledged")
            return
        }
        #expect(error.message.contains("producer is closed"))
    }

    @Test func aWrongSettingIsAnErrorThatNamesIt() {
        #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: KafkaConfiguration(["no.such.setting": "1"]))
        }
        do {
            _ = try KafkaProducer(configuration: KafkaConfiguration(["no.such.setting": "1"]))
        } catch {
            #expect("\(error)".contains("kafka setting 'no.such.setting'"))
        }
    }
}
