import Foundation
import Kafka
@testable import Pipeline
import Rules
import Testing
import TestSupport

/// Replay on the dev cluster: history whose stageTimestamps (and Kafka times) span four days.
@Suite(.serialized) struct ReplayTests {
    static let day = ReplayHistory.day, firstDay = ReplayHistory.firstDay

    /// A dev cluster holding the history, with the replay topic; the rules files in `directory`.
    struct Fixture {
        let cluster: TestCluster
        var history: ReplayHistory
        let directory: TemporaryDirectory
        let rules: String
        let changedRules: String

        init() async throws {
            cluster = try TestCluster(partitions: 24, extraTopics: [ReplayTarget.defaultTopic])
            history = ReplayHistory(partitions: 24)
            try await history.produce(to: cluster)
            directory = try TemporaryDirectory()
            rules = try directory.write("rules.yaml", ReplayHistory.rules)
            changedRules = try directory.write("changed.yaml", ReplayHistory.changedRules)
        }

        func request(from: Int64, to: Int64?, rules files: [String]? = nil) throws -> ReplayRequest {
            var request = ReplayRequest(kafka: KafkaSettings(brokers: cluster.bootstrapServers), range: ReplayRange(from: from, to: to),
                                        rules: try RuleSet.load(files: files ?? [rules]))
            request.hostname = "replay-test"
            request.workers = 2
            return request
        }

        /// The engine's alerts for these events: its evaluator, with the origin each event has in Kafka.
        func engineAlerts(_ events: [ReplayHistory.Event], rules files: [String]? = nil) throws -> [String] {
            let evaluator = try RuleSet.load(files: files ?? [rules]).makeEvaluator(hostname: "replay-test")
            return try events.flatMap { event in
                try evaluator.evaluate(Array(event.json.utf8), cluster: event.cluster,
                                       origin: Alert.Origin(topic: cluster.topics.raw, partition: event.partition, offset: event.offset))
                    .map(AlertEncoder.json)
            }
        }
    }

    @Test func theRangeSelectsExactlyTheEventsWhoseStageTimestampIsInIt() async throws {
        let fixture = try await Fixture()
        let from = Self.firstDay + Self.day + 6 * 3_600_000_000_000, to = Self.firstDay + 2 * Self.day + 12 * 3_600_000_000_000
        var request = try fixture.request(from: from, to: to)
        let output = fixture.directory.file("alerts.jsonl")
        request.target = .file(output)
        let report = try Replayer(request: request).run()

        let inRange = fixture.history.events(from: from, to: to)
        #expect(report.evaluated == Int64(inRange.count))
        #expect(report.rejected == 0)
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        // Exactly the engine's alerts, byte for byte (ids and origins included), for exactly the events in range.
        #expect(Set(lines) == Set(try fixture.engineAlerts(inRange)))
        #expect(lines.count == inRange.filter { $0.kind != .podList }.count)
        #expect(report.alerts == lines.count)
        // Every alert's event lies in the range.
        let times = Dictionary(uniqueKeysWithValues: fixture.history.events.map { ($0.auditID, $0.stageTime) })
        for line in lines {
            let alert = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let time = try #require(times[alert["auditID"] as? String ?? ""])
            #expect(time >= from && time < to)
        }
    }

    @Test func clustersFilterAndAlertsGoToTheReplayTopicAsTheEngineWritesThem() async throws {
        let fixture = try await Fixture()
        let from = Self.firstDay, to = Self.firstDay + Self.day
        var request = try fixture.request(from: from, to: to)
        request.clusters = ["prod-us"]
        request.target = .topic(ReplayTarget.defaultTopic)
        let report = try Replayer(request: request).run()

        let expected = fixture.history.events(from: from, to: to, clusters: ["prod-us"])
        let alertCount = expected.filter { $0.kind != .podList }.count
        #expect(report.evaluated == Int64(expected.count))
        #expect(report.otherClusters > 0)
        let messages = try fixture.cluster.read(ReplayTarget.defaultTopic, count: alertCount)
        #expect(messages.count == alertCount)
        #expect(Set(messages.map { String(decoding: $0.value, as: UTF8.self) }) == Set(try fixture.engineAlerts(expected)))
        for message in messages {
            #expect(message.header("cluster") == "prod-us")
            #expect(message.key == Array("prod-us".utf8))
            #expect(["Secret read", "Configmap deleted"].contains(message.header("rule") ?? ""))
            #expect(["Warning", "Notice"].contains(message.header("priority") ?? ""))
        }
        // Nothing reached the live alerts topic.
        #expect(try fixture.cluster.readAll(fixture.cluster.topics.alerts, quiet: .seconds(1)).isEmpty)
    }

    @Test func theLiveEngineGroupsCommittedOffsetsAreUntouched() async throws {
        let fixture = try await Fixture()
        let partitions = (0..<24).map { TopicPartition(fixture.cluster.topics.raw, Int32($0)) }
        let engineGroup = EngineSettings().consumerGroup
        // The live engine has committed part of the topic.
        let committedBefore = Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(Int($0.partition) % 3 + 1)) })
        do {
            let engine = try KafkaConsumer(configuration: fixture.cluster.configuration(), groupID: engineGroup)
            try engine.assign(committedBefore)
            try engine.commit(committedBefore)
            engine.close()
        }
        let request = try fixture.request(from: Self.firstDay, to: Self.firstDay + 4 * Self.day)
        var quiet = request
        quiet.target = nil
        let report = try Replayer(request: quiet).run()
        #expect(report.evaluated == Int64(fixture.history.events.count))

        let reader = try KafkaConsumer(configuration: fixture.cluster.configuration(), groupID: engineGroup)
        defer { reader.close() }
        let committedAfter = try reader.committed(partitions)
        for partition in partitions { #expect(committedAfter[partition] == .some(committedBefore[partition])) }
    }

    @Test func diffReportsTheNarrowedRemovedAndNewRules() async throws {
        let fixture = try await Fixture()
        var request = try fixture.request(from: Self.firstDay, to: Self.firstDay + 2 * Self.day, rules: [fixture.changedRules])
        request.previousRules = try RuleSet.load(files: [fixture.rules])
        let report = try Replayer(request: request).run()
        let old = try #require(report.previousTally)

        let events = fixture.history.events(from: Self.firstDay, to: Self.firstDay + 2 * Self.day)
        let secretReads = events.filter { if case .secretRead = $0.kind { true } else { false } }
        let aliceReads = events.filter { $0.kind == .secretRead(user: "alice") }
        let changes = ReplayDiffTable.changes(old: old, new: report.tally, oldRules: ["Secret read", "Configmap deleted"],
                                              newRules: ["Secret read", "Pod listed"])
        let byRule = Dictionary(uniqueKeysWithValues: changes.map { ($0.rule, $0) })
        #expect(byRule["Secret read"] == .init(rule: "Secret read", old: secretReads.count, new: aliceReads.count, note: "fires less"))
        #expect(byRule["Configmap deleted"]?.note == "removed rule")
        #expect(byRule["Configmap deleted"]?.new == 0)
        #expect(byRule["Pod listed"]?.note == "new rule")
        #expect(byRule["Pod listed"]?.new == events.filter { $0.kind == .podList }.count)
        #expect(aliceReads.count > 0 && aliceReads.count < secretReads.count)
        let text = ReplayDiffTable.render(old: old, new: report.tally, oldRules: ["Secret read", "Configmap deleted"],
                                          newRules: ["Secret read", "Pod listed"])
        #expect(text.contains("fires less") && text.contains("removed rule") && text.contains("new rule"))
    }

    @Test func aRangeWithoutDataUnknownTopicsAndUnreachableBrokersAreClearErrors() async throws {
        let fixture = try await Fixture()
        // After the history: nothing has a stageTimestamp there.
        let later = try fixture.request(from: Self.firstDay + 10 * Self.day, to: Self.firstDay + 11 * Self.day)
        #expect { try Replayer(request: later).run() } throws: { error in
            guard case .noData(let detail) = error as? ReplayError else { return false }
            return detail.contains("stageTimestamp")
        }
        // --to before --from.
        let backwards = try fixture.request(from: Self.firstDay + Self.day, to: Self.firstDay)
        #expect(throws: ReplayError.emptyRange(backwards.range)) { try Replayer(request: backwards).run() }

        var unknown = try fixture.request(from: Self.firstDay, to: nil)
        unknown.topics.raw = "k8s-audit.raw.missing"
        #expect { try Replayer(request: unknown).run() } throws: { error in
            guard case .unknownTopic(let topic, _, let existing) = error as? ReplayError else { return false }
            return topic == "k8s-audit.raw.missing" && existing.contains("k8s-audit.raw")
        }
        var missingOutput = try fixture.request(from: Self.firstDay, to: nil)
        missingOutput.target = .topic("replay.nowhere")
        #expect(throws: ReplayError.missingOutputTopic("replay.nowhere")) { try Replayer(request: missingOutput).run() }

        // Nothing listens on the port: the replay gives up after its broker timeout, it does not hang.
        let port = try FreePort.allocate()
        var unreachable = try fixture.request(from: Self.firstDay, to: nil)
        unreachable.kafka = KafkaSettings(brokers: "127.0.0.1:\(port)")
        unreachable.brokerTimeout = .seconds(2)
        let started = ContinuousClock.now
        #expect { try Replayer(request: unreachable).run() } throws: { error in
            guard case .brokersUnreachable(let brokers, _, _) = error as? ReplayError else { return false }
            return brokers == "127.0.0.1:\(port)"
        }
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func theLiveAlertsTopicIsRefusedWithoutTheFlag() throws {
        let topics = PipelineTopics()
        #expect(throws: ReplayError.liveAlertsTopic(topics.alerts)) {
            try ReplayTarget.topic(topics.alerts).check(against: topics, allowLiveTopic: false)
        }
        try ReplayTarget.topic(topics.alerts).check(against: topics, allowLiveTopic: true)
        #expect(throws: ReplayError.pipelineTopic(topics.raw)) {
            try ReplayTarget.topic(topics.raw).check(against: topics, allowLiveTopic: true)
        }
        try ReplayTarget.topic(ReplayTarget.defaultTopic).check(against: topics, allowLiveTopic: false)
        #expect(ReplayTarget(parsing: "topic") == .topic(ReplayTarget.defaultTopic))
        #expect(ReplayTarget(parsing: "file:/tmp/a.jsonl") == .file("/tmp/a.jsonl"))
        #expect(ReplayTarget(parsing: "stdout") == .stdout)
        #expect(ReplayTarget(parsing: "kafka") == nil)
        #expect(ReplayTarget(parsing: "file:") == nil)
    }
}
