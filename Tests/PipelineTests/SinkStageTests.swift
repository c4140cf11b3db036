import Foundation
import Kafka
import Logging
import Outputs
import Pipeline
import Rules
import Settings
import Testing
import TestSupport

/// The sink stage on dev clusters: outputs in their own consumer groups, a down output that only
/// builds lag, poison messages dead-lettered, offsets committed only past delivered alerts, and
/// the built binary SIGKILLed mid-stream without losing an alert.
@Suite(.serialized) struct SinkStageTests {
    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func ids(_ path: String) -> [String] {
        let decoder = AlertDecoder()
        return lines(path).compactMap { try? decoder.decode(Array($0.utf8)).id }
    }

    /// A counter's value from the Prometheus exposition (0 when not there yet).
    static func metric(_ metrics: PipelineMetrics, _ name: String, output: String) -> Double {
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let prefix = "\(name){output=\"\(output)\"} "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Double(line.dropFirst(prefix.count)) ?? 0
    }

    /// Runs a sink stage in this process until `body` returns, then stops it gracefully.
    static func withSink(_ yaml: String, _ body: (PipelineMetrics) async throws -> Void) async throws {
        let config = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: yaml, file: "sink.yaml")
        let metrics = PipelineMetrics()
        var logger = Logger(label: "sink-test")
        logger.logLevel = .warning
        let stage = try SinkStage(config: config, metrics: metrics, logger: logger)
        let running = Task { try await stage.run() }
        do {
            try await body(metrics)
        } catch {
            stage.requestStop()
            try? await running.value
            throw error
        }
        stage.requestStop()
        try await running.value
    }

    /// Every partition's committed offset of a group equals its high watermark: nothing left to deliver.
    static func fullyCommitted(_ cluster: TestCluster, group: String, partitions: Int) throws -> Bool {
        let consumer = try KafkaConsumer(configuration: cluster.configuration(), groupID: group)
        defer { consumer.close() }
        let topic = cluster.topics.alerts
        let all = (0..<Int32(partitions)).map { TopicPartition(topic, $0) }
        let committed = try consumer.committed(all)
        for partition in all {
            let high = try consumer.watermarks(partition).high
            if high > 0, committed[partition] ?? nil != high { return false }
        }
        return true
    }

    /// The distinct alert ids a topic holds, read until `expected` of them arrived (or 60 s passed).
    static func distinctIDs(_ cluster: TestCluster, _ topic: String, expected: Int) throws -> Set<String> {
        let consumer = try KafkaConsumer(configuration: cluster.configuration(), groupID: "test-reader-\(UUID().uuidString)")
        defer { consumer.close() }
        try consumer.subscribe([topic])
        let decoder = AlertDecoder()
        var ids = Set<String>()
        let deadline = ContinuousClock.now + .seconds(60)
        while ids.count < expected, ContinuousClock.now < deadline {
            for message in try consumer.poll(maxMessages: 1000, timeout: .milliseconds(100)) {
                ids.insert(try decoder.decode(message.value).id)
            }
        }
        return ids
    }

    /// How many messages a topic ever received (the sum of its high watermarks).
    static func messageCount(_ cluster: TestCluster, _ topic: String, partitions: Int) throws -> Int64 {
        let consumer = try KafkaConsumer(configuration: cluster.configuration(), groupID: "test-watermarks")
        defer { consumer.close() }
        return try (0..<Int32(partitions)).reduce(0) { $0 + (try consumer.watermarks(TopicPartition(topic, $1)).high) }
    }

    @Test func anOutputDownForAWhileGetsEveryAlertOnceBackWhileAnotherKeepsDelivering() async throws {
        let main = try TestCluster(brokers: 1, partitions: 8)
        let remote = try TestCluster(brokers: 1, partitions: 4, extraTopics: ["relayed"])
        let directory = try TemporaryDirectory()
        let archive = directory.file("archive.jsonl")
        let yaml = """
            kafka: {brokers: "\(main.bootstrapServers)"}
            sink:
              outputs:
                - name: archive
                  type: file
                  path: \(archive)
                - name: relay
                  type: kafka
                  topic: relayed
                  brokers: "\(remote.bootstrapServers)"
                  settings: {message.timeout.ms: "1000"}
                  retry: {max_attempts: 100000, initial_backoff: 100ms, max_backoff: 500ms}
            """
        let alerts = (0..<200).map { SampleAlerts.alert($0) }
        // The engine's at-least-once replays: some alerts arrive twice.
        let records = alerts.map { SampleAlerts.record($0) } + alerts[50..<100].map { SampleAlerts.record($0) }
        try remote.cluster.setBroker(1, up: false)
        try await Self.withSink(yaml) { metrics in
            try await main.produce(records)
            // The archive delivers everything while the relay is down.
            #expect(await eventually(within: .seconds(60)) { Self.lines(archive).count >= 200 })
            #expect(Self.ids(archive) == Self.ids(archive).uniqued())
            #expect(Set(Self.ids(archive)) == Set(alerts.map(\.id)))
            #expect(await eventually(within: .seconds(30)) {
                Self.metric(metrics, "auditpipe_sink_retried_total", output: "relay") > 0
            })
            #expect(Self.metric(metrics, "auditpipe_sink_delivered_total", output: "relay") == 0)
            try remote.cluster.setBroker(1, up: true)
            #expect(await eventually(within: .seconds(90)) {
                Self.metric(metrics, "auditpipe_sink_delivered_total", output: "relay") >= 200
            })
            let relayed = try Self.distinctIDs(remote, "relayed", expected: alerts.count)
            #expect(relayed == Set(alerts.map(\.id)), "every alert, once de-duplicated by id")
            #expect(Self.metric(metrics, "auditpipe_sink_deduplicated_total", output: "archive") == 50)
            #expect(Self.metric(metrics, "auditpipe_sink_dead_lettered_total", output: "relay") == 0)
        }
        #expect(Self.lines(archive).count == 200, "nothing delivered twice to the archive")
        #expect(try Self.messageCount(main, main.topics.deadLetters, partitions: 8) == 0)
        #expect(try Self.fullyCommitted(main, group: "auditpipe-sink-archive", partitions: 8))
        #expect(try Self.fullyCommitted(main, group: "auditpipe-sink-relay", partitions: 8))
    }

    @Test func messagesThatAreNotAlertsAreDeadLetteredAndTheRestDelivered() async throws {
        let main = try TestCluster(brokers: 1, partitions: 2)
        let directory = try TemporaryDirectory()
        let archive = directory.file("archive.jsonl")
        let yaml = """
            kafka: {brokers: "\(main.bootstrapServers)"}
            sink:
              outputs:
                - {name: archive, type: file, path: \(archive), minimum_priority: notice}
            """
        let alerts = (0..<20).map { SampleAlerts.alert($0) }
        let poison = KafkaRecord(topic: main.topics.alerts, key: Array("prod-eu".utf8), value: Array("{\"rule\":".utf8), partition: 0)
        try await Self.withSink(yaml) { metrics in
            try await main.produce(Array(alerts[0..<10].map { SampleAlerts.record($0) }) + [poison]
                                   + alerts[10...].map { SampleAlerts.record($0) })
            let wanted = alerts.filter { $0.priority <= .notice }
            #expect(await eventually(within: .seconds(60)) { Set(Self.ids(archive)) == Set(wanted.map(\.id)) })
            #expect(await eventually(within: .seconds(30)) {
                Self.metric(metrics, "auditpipe_sink_filtered_total", output: "archive") == Double(alerts.count - wanted.count)
            })
            // The poison's partition may hold nothing after it that the archive waits for: wait for the letter itself.
            #expect(await eventually(within: .seconds(30)) {
                Self.metric(metrics, "auditpipe_sink_dead_lettered_total", output: "archive") == 1
            })
        }
        let letters = try main.read(main.topics.deadLetters, count: 1)
        let letter = try #require(letters.first)
        #expect(letter.value == Array("{\"rule\":".utf8))
        #expect(letter.key == Array("prod-eu".utf8))
        #expect(letter.header("output") == "archive")
        #expect(letter.header("attempts") == "0")
        #expect(letter.header("error")?.hasPrefix("not JSON") == true)
        #expect(try Self.fullyCommitted(main, group: "auditpipe-sink-archive", partitions: 2))
    }

    @Test func sigkillMidStreamLosesNothing() async throws {
        let main = try TestCluster(brokers: 1, partitions: 8)
        let directory = try TemporaryDirectory()
        let archive = directory.file("archive.jsonl")
        let config = try directory.write("sink.yaml", """
            sink:
              metrics_listen: 127.0.0.1:0
              outputs:
                - name: archive
                  type: file
                  path: \(archive)
                  batch: {max_size: 10}
                  rate_limit: 30
            """)
        let alerts = (0..<1500).map { SampleAlerts.alert($0) }
        try await main.produce(alerts.map { SampleAlerts.record($0) })
        let binary = RepositoryPaths.builtExecutable("auditpipe")
        let arguments = ["sink", "--brokers", main.bootstrapServers, "--config", config, "--log-level", "warning"]
        let first = try ChildProcess(binary, arguments)
        #expect(await eventually(within: .seconds(60)) { Self.lines(archive).count >= 300 }, "\(first.stderr)")
        await first.stop(signal: SIGKILL)
        let atKill = Set(Self.ids(archive))
        #expect(atKill.count < alerts.count, "the sink was killed mid-stream")
        let second = try ChildProcess(binary, arguments)
        #expect(await eventually(within: .seconds(120)) { Set(Self.ids(archive)).count == alerts.count }, "\(second.stderr)")
        #expect(Set(Self.ids(archive)) == Set(alerts.map(\.id)), "every alert at least once, exactly once de-duplicated")
        #expect(await second.stop(signal: SIGTERM, within: .seconds(30)) == 0, "\(second.stderr)")
        #expect(try Self.fullyCommitted(main, group: "auditpipe-sink-archive", partitions: 8))
        // Committed on the way out: a third run has nothing to deliver again.
        let delivered = Self.lines(archive).count
        let third = try ChildProcess(binary, arguments)
        try await Task.sleep(for: .seconds(3))
        await third.stop()
        #expect(Self.lines(archive).count == delivered)
    }

    @Test func theSinkRefusesAConfigurationWithoutOutputsOrWithTwinNames() async throws {
        let directory = try TemporaryDirectory()
        let binary = RepositoryPaths.builtExecutable("auditpipe")
        let empty = try directory.write("empty.yaml", "sink: {}\n")
        let none = try ChildProcess(binary, ["sink", "--brokers", "127.0.0.1:9", "--config", empty])
        #expect(await eventually(within: .seconds(30)) { !none.isRunning })
        #expect(await none.stop() == 2)
        #expect(none.stderr.contains("the sink has no outputs: configure at least one under sink.outputs"), "\(none.stderr)")
        let twins = try directory.write("twins.yaml", """
            sink:
              outputs:
                - {name: a, type: stdout}
                - {name: a, type: file, path: /tmp/x}
            """)
        let twin = try ChildProcess(binary, ["sink", "--brokers", "127.0.0.1:9", "--config", twins])
        #expect(await eventually(within: .seconds(30)) { !twin.isRunning })
        #expect(await twin.stop() == 2)
        #expect(twin.stderr.contains("two outputs are named 'a'"), "\(twin.stderr)")
        #expect(twin.stderr.contains("twins.yaml:"), "\(twin.stderr)")
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
