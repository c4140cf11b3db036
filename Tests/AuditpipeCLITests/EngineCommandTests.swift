import Foundation
import Kafka
import TestSupport
import Testing
import Workload

/// `auditpipe engine` as separate processes on the dev cluster: agreement with `check`, sharing and
/// crashes, a stalled alerts topic, poison messages, rules reloads, graceful shutdown.
@Suite(.serialized) struct EngineCommandTests {
    static let rawTopic = PipelineTopics().raw, alertsTopic = PipelineTopics().alerts, rejectsTopic = PipelineTopics().rejects

    /// Reads the alerts topic until every one of `auditIDs` has an alert (or `limit` passes).
    static func alerts(in cluster: TestCluster, covering auditIDs: Set<String>,
                       limit: Duration = .seconds(120)) async throws -> [[String: Any]] {
        let consumer = try KafkaConsumer(configuration: cluster.configuration(["session.timeout.ms": "6000"]),
                                         groupID: "test-reader-\(UUID().uuidString)")
        defer { consumer.close() }
        try consumer.subscribe([alertsTopic])
        var alerts: [[String: Any]] = []
        var seen = Set<String>()
        let deadline = ContinuousClock.now + limit
        while !auditIDs.isSubset(of: seen), ContinuousClock.now < deadline {
            let batch = EngineTestEvents.alerts(try consumer.poll(maxMessages: 1000, timeout: .milliseconds(200)))
            alerts += batch
            for alert in batch { if let id = alert["auditID"] as? String { seen.insert(id) } }
            await Task.yield()
        }
        return alerts
    }

    /// The engine group's committed next offsets, by partition of the raw topic.
    static func committedOffsets(_ cluster: TestCluster, partitions: Int = 24) throws -> [Int32: Int64] {
        let consumer = try KafkaConsumer(configuration: cluster.configuration(), groupID: "auditpipe-engine")
        defer { consumer.close() }
        let committed = try consumer.committed((0..<Int32(partitions)).map { TopicPartition(rawTopic, $0) })
        return Dictionary(uniqueKeysWithValues: committed.compactMap { key, value in value.map { (key.partition, $0) } })
    }

    static func highWatermarks(_ cluster: TestCluster, partitions: Int = 24) throws -> [Int32: Int64] {
        let admin = try KafkaAdmin(configuration: cluster.configuration())
        let marks = admin.watermarks((0..<Int32(partitions)).map { TopicPartition(rawTopic, $0) })
        return Dictionary(uniqueKeysWithValues: marks.compactMap { $0.value.high > 0 ? ($0.key.partition, $0.value.high) : nil })
    }

    /// A dev cluster, a directory holding the every-event rules (`rules.yaml`), and an engine on them.
    struct Setup {
        let cluster: TestCluster
        let directory: TemporaryDirectory
        let rules: String
        let engine: EngineProcess
    }

    static func setUp(engine settings: [String: String] = [:], kafka: [String: String] = [:]) async throws -> Setup {
        let cluster = try TestCluster()
        let directory = try TemporaryDirectory()
        let rules = try directory.write("rules.yaml", EngineTestEvents.everyEventRule)
        let engine = try EngineProcess(cluster: cluster, rules: [rules], directory: directory, engine: settings, kafka: kafka)
        #expect(await engine.waitUntilAssigned())
        return Setup(cluster: cluster, directory: directory, rules: rules, engine: engine)
    }

    @Test func streamingAlertsAreTheAlertsCheckGivesOffline() async throws {
        let cluster = try TestCluster()
        let directory = try TemporaryDirectory()
        var generator = CorpusGenerator(seed: 7)
        let events = (0..<3000).map { generator.event(number: $0) }
            + (0..<40).map { EngineTestEvents.exec("exec-\($0)", user: "mallory") }
        let eventsFile = try directory.write("events.jsonl", events.joined(separator: "\n") + "\n")
        let rules = [RepositoryPaths.falcoRules, RepositoryPaths.projectRules]
        let offline = try CLIRunner.run(["check"] + rules.flatMap { ["--rules", $0] } + ["--events", eventsFile, "--cluster", "prod-eu"])
        try #require(offline.status == 0, "\(offline.stderr)")
        let expected = try CheckCommandTests.alerts(offline.stdout)
        try #require(expected.count > 100)

        let engine = try EngineProcess(cluster: cluster, rules: rules, directory: directory)
        try await cluster.produce(EngineTestEvents.records(events))
        let streamed = try await Self.alerts(in: cluster, covering: Set(expected.compactMap { $0["auditID"] as? String }))

        func keyed(_ alerts: [[String: Any]]) -> [String: [String: Any]] {
            Dictionary(alerts.map { ("\($0["auditID"] ?? "")|\($0["rule"] ?? "")", $0) }, uniquingKeysWith: { first, _ in first })
        }
        let offlineByKey = keyed(expected), streamedByKey = keyed(streamed)
        #expect(streamed.count == expected.count, "a clean run produces each alert once")
        #expect(Set(streamedByKey.keys) == Set(offlineByKey.keys))
        for (key, want) in offlineByKey {
            guard let got = streamedByKey[key] else { continue }
            for field in ["rule", "priority", "output", "id", "cluster", "hostname", "time", "source"] {
                #expect(got[field] as? String == want[field] as? String, "\(key): \(field)")
            }
            #expect(got["tags"] as? [String] == want["tags"] as? [String], "\(key): tags")
            let gotFields = try #require(got["output_fields"] as? NSDictionary), wantFields = try #require(want["output_fields"] as? NSDictionary)
            #expect(gotFields.isEqual(to: wantFields as! [AnyHashable: Any]), "\(key): output_fields")
            let origin = try #require(got["origin"] as? [String: Any])
            #expect(origin["topic"] as? String == Self.rawTopic)
        }
        #expect(expected.allSatisfy { ($0["output_fields"] as? [String: Any])?["auditpipe.rules_version"] is String })

        // Key and headers as DESIGN.md has them.
        let messages = try cluster.read(Self.alertsTopic, count: 5)
        for message in messages {
            let alert = try #require(EngineTestEvents.alerts([message]).first)
            #expect(message.key == Array("prod-eu".utf8))
            #expect(message.header("cluster") == "prod-eu")
            #expect(message.header("rule") == alert["rule"] as? String)
            #expect(message.header("priority") == alert["priority"] as? String)
        }
        #expect(await engine.child.stop() == 0)
    }

    @Test func twoEnginesShareThePartitionsAndAKilledOneLosesNoEvent() async throws {
        let cluster = try TestCluster()
        let directory = try TemporaryDirectory()
        let rules = try directory.write("every.yaml", EngineTestEvents.everyEventRule)
        let first = try EngineProcess(cluster: cluster, rules: [rules], directory: directory, name: "first")
        #expect(await first.waitUntilAssigned())
        let second = try EngineProcess(cluster: cluster, rules: [rules], directory: directory, name: "second")
        // Both members hold partitions: the first was assigned twice (alone, then sharing).
        #expect(await second.waitUntilAssigned())
        #expect(await first.waitUntilAssigned(times: 2))

        var ids: [String] = []
        for chunk in 0..<12 {
            let (chunkIDs, events) = EngineTestEvents.execs("kill-\(chunk)", 400)
            ids += chunkIDs
            try await cluster.produce(EngineTestEvents.records(events))
            if chunk == 4 {
                kill(first.pid, SIGKILL)
                first.child.process.waitUntilExit()
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let alerts = try await Self.alerts(in: cluster, covering: Set(ids), limit: .seconds(150))
        let seen = Set(alerts.compactMap { $0["auditID"] as? String })
        #expect(seen.isSuperset(of: ids), "\(Set(ids).subtracting(seen).count) events without an alert")
        // The survivor took the dead member's partitions over.
        #expect(second.count("partitions assigned") >= 2)
        #expect(await second.child.stop() == 0)
    }

    /// Members joining and leaving hand partitions over at their committed offsets: no event is evaluated
    /// twice. (Events are not produced while membership changes: librdkafka's mock broker refuses commits
    /// while a group is joining, which Apache Kafka accepts from current members, so work done during a
    /// rebalance on the mock may be done again; see README.)
    @Test func membersJoiningAndLeavingHandPartitionsOverWithoutRepeats() async throws {
        let cluster = try TestCluster()
        let directory = try TemporaryDirectory()
        let rules = try directory.write("every.yaml", EngineTestEvents.everyEventRule)
        let first = try EngineProcess(cluster: cluster, rules: [rules], directory: directory, name: "first")
        #expect(await first.waitUntilAssigned())
        var ids: [String] = []
        func produceAndWait(_ prefix: String) async throws {
            let (chunkIDs, events) = EngineTestEvents.execs(prefix, 1200)
            ids += chunkIDs
            try await cluster.produce(EngineTestEvents.records(events))
            _ = try await Self.alerts(in: cluster, covering: Set(chunkIDs))
            #expect(await eventually(within: .seconds(30)) { (try? Self.committedOffsets(cluster) == Self.highWatermarks(cluster)) == true })
        }
        try await produceAndWait("alone")
        let second = try EngineProcess(cluster: cluster, rules: [rules], directory: directory, name: "second")
        #expect(await second.waitUntilAssigned())
        #expect(await first.waitUntilAssigned(times: 2))
        await EngineProcess.waitUntilSettled([first, second])
        try await produceAndWait("shared")
        #expect(await second.child.stop() == 0)
        #expect(await first.waitUntilAssigned(times: 3))
        await EngineProcess.waitUntilSettled([first])
        try await produceAndWait("after")

        let alerts = try await Self.alerts(in: cluster, covering: Set(ids))
        let counted = Dictionary(alerts.compactMap { $0["id"] as? String }.map { ($0, 1) }, uniquingKeysWith: +)
        #expect(Set(alerts.compactMap { $0["auditID"] as? String }) == Set(ids))
        #expect(counted.values.allSatisfy { $0 == 1 }, "\(counted.values.filter { $0 > 1 }.count) alerts produced twice")
        #expect(second.logs.contains("left the consumer group"))
        #expect(await first.child.stop() == 0)
    }

    @Test func aStalledAlertsTopicPausesFetchingWithBoundedMemoryAndNothingIsLost() async throws {
        let partitions = 48
        let cluster = try TestCluster(partitions: partitions)
        // The alerts and rejects topics live on broker 3 alone; raw events and the group's offsets on 1 and 2.
        for partition in 0..<Int32(partitions) {
            try cluster.cluster.setLeader(topic: Self.alertsTopic, partition: partition, broker: 3)
            try cluster.cluster.setLeader(topic: Self.rejectsTopic, partition: partition, broker: 3)
            try cluster.cluster.setLeader(topic: Self.rawTopic, partition: partition, broker: 1 + partition % 2)
        }
        try cluster.cluster.setGroupCoordinator(group: "auditpipe-engine", broker: 1)
        let directory = try TemporaryDirectory()
        let rules = try directory.write("every.yaml", EngineTestEvents.everyEventRule)
        let engine = try EngineProcess(
            cluster: cluster, rules: [rules], directory: directory,
            engine: ["max_in_flight_bytes": "1MiB", "max_in_flight_batches": "32", "batch_max_events": "100"],
            kafka: ["queued.max.messages.kbytes": "1024", "fetch.max.bytes": "1048576", "max.partition.fetch.bytes": "262144"])
        #expect(await engine.waitUntilAssigned())
        var (ids, warmUp) = EngineTestEvents.execs("warm", 500, padding: 1000)
        try await cluster.produce(EngineTestEvents.records(warmUp))
        _ = try await Self.alerts(in: cluster, covering: Set(ids))
        let baseline = try #require(engine.residentBytes)

        try cluster.cluster.setBroker(3, up: false)
        var peak = baseline
        // 60,000 events of about 1.3 KB (~80 MB) arrive while alerts cannot be stored.
        for chunk in 0..<30 {
            let (chunkIDs, events) = EngineTestEvents.execs("stall-\(chunk)", 2000, padding: 1000)
            ids += chunkIDs
            try await cluster.produce(EngineTestEvents.records(events))
            peak = max(peak, engine.residentBytes ?? 0)
        }
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(100))
            peak = max(peak, engine.residentBytes ?? 0)
        }
        #expect((await engine.metric("auditpipe_engine_paused_partitions") ?? 0) > 0, "fetching paused")
        #expect(engine.logs.contains("pausing fetching"))
        let growth = peak - baseline
        #expect(growth < 48 << 20, "resident memory grew by \(growth >> 20) MiB while 80 MB arrived")

        try cluster.cluster.setBroker(3, up: true)
        let alerts = try await Self.alerts(in: cluster, covering: Set(ids), limit: .seconds(180))
        let seen = Set(alerts.compactMap { $0["auditID"] as? String })
        #expect(seen.isSuperset(of: ids), "\(Set(ids).subtracting(seen).count) events without an alert")
        #expect(await eventually(within: .seconds(30)) { (await engine.metric("auditpipe_engine_paused_partitions") ?? 1) == 0 })
        #expect(await engine.child.stop() == 0)
    }

    @Test func poisonMessagesGoToRejectsAndAreCommittedPast() async throws {
        let setup = try await Self.setUp()
        defer { withExtendedLifetime(setup) {} }
        let (cluster, engine) = (setup.cluster, setup.engine)
        let poison = ["this is not json", "{\"kind\":\"Pod\",\"metadata\":{}}", "[1,2,3]",
                      "{\"kind\":\"Event\",\"auditID\":\"no-time\",\"stage\":\"ResponseComplete\"}"]
        var events: [String] = []
        var good = Set<String>()
        for index in 0..<200 {
            if index % 50 == 7 {
                events.append(poison[index / 50])
            } else {
                events.append(EngineTestEvents.exec("good-\(index)"))
                good.insert("good-\(index)")
            }
        }
        // All on one partition: the poison sits between good events, which must still be evaluated.
        try await cluster.produce(EngineTestEvents.records(events).map { record in
            var record = record
            record.partition = 5
            return record
        })
        let alerts = try await Self.alerts(in: cluster, covering: good)
        #expect(Set(alerts.compactMap { $0["auditID"] as? String }) == good)
        let rejects = try cluster.read(Self.rejectsTopic, count: 4)
        #expect(rejects.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == poison.sorted())
        #expect(rejects.allSatisfy { $0.header("stage") == "engine" && $0.header("cluster") == "prod-eu" && $0.key == nil })
        let reasons = Dictionary(uniqueKeysWithValues: rejects.map { (String(decoding: $0.value, as: UTF8.self), $0.header("reason") ?? "") })
        #expect(reasons[poison[0]]?.hasPrefix("not JSON") == true)
        #expect(reasons[poison[1]] == "not an audit event: kind is Pod, not Event")
        #expect(reasons[poison[3]] == "not an audit event: no valid stageTimestamp (RFC 3339)")
        #expect(await eventually(within: .seconds(20)) { (try? Self.committedOffsets(cluster)[5]) == 200 })
        #expect(await engine.metric("auditpipe_engine_rejects_total") == 4)
        #expect(await engine.child.stop() == 0)
    }

    @Test func opsEndpointsAnswerAndMetricsCountWhatHappened() async throws {
        let setup = try await Self.setUp(engine: ["lag_interval": "300ms"])
        defer { withExtendedLifetime(setup) {} }
        let (cluster, engine) = (setup.cluster, setup.engine)
        #expect(await engine.get("/healthz")?.status == 200)
        #expect(await eventually(within: .seconds(10)) { await engine.get("/readyz")?.status == 200 })
        let (ids, events) = EngineTestEvents.execs("metrics", 240)
        try await cluster.produce(EngineTestEvents.records(events))
        _ = try await Self.alerts(in: cluster, covering: Set(ids))
        #expect(await eventually(within: .seconds(10)) { await engine.metric("auditpipe_engine_events_total") == 240 })
        #expect(await engine.metric("auditpipe_engine_alerts_total", ["rule=\"Every event\"", "priority=\"Notice\""]) == 240)
        #expect((await engine.metric("auditpipe_engine_batch_events_count") ?? 0) > 0)
        #expect((await engine.metric("auditpipe_engine_batch_latency_seconds_count") ?? 0) > 0)
        #expect((await engine.metric("auditpipe_engine_evaluation_seconds_count") ?? 0) > 0)
        #expect(await engine.metric("auditpipe_engine_assigned_partitions") == 24)
        // Lag per partition, measured against the committed offsets: zero once all is committed.
        #expect(await eventually(within: .seconds(20)) {
            let first = await engine.metric("auditpipe_engine_consumer_lag", ["partition=\"0\""])
            let all = await engine.metric("auditpipe_engine_consumer_lag")
            return first == 0 && all == 0
        })
        #expect(await engine.child.stop() == 0)
    }

    @Test func anAlertKafkaRefusesForGoodGoesToRejectsWithItsEvent() async throws {
        // Records over 3,000 bytes are refused: the big event's alert (its user name twice) is, the event is not.
        let setup = try await Self.setUp(kafka: ["message.max.bytes": "3000"])
        defer { withExtendedLifetime(setup) {} }
        let (cluster, engine) = (setup.cluster, setup.engine)
        let big = EngineTestEvents.exec("big", user: String(repeating: "u", count: 1500))
        try await cluster.produce(EngineTestEvents.records([EngineTestEvents.exec("small"), big]))
        _ = try await Self.alerts(in: cluster, covering: ["small"])
        let rejects = try cluster.read(Self.rejectsTopic, count: 1)
        #expect(rejects.map { String(decoding: $0.value, as: UTF8.self) } == [big])
        #expect(rejects.first?.header("reason")?.hasPrefix("the alert of rule 'Every event' could not be produced") == true)
        #expect(await eventually(within: .seconds(10)) { await engine.metric("auditpipe_engine_alerts_dead_lettered_total") == 1 })
        #expect(await eventually(within: .seconds(20)) {
            (try? Self.committedOffsets(cluster).values.reduce(0, +)) == 2
        })
        #expect(await engine.child.stop() == 0)
    }

    @Test func rulesReloadWhenTheFileChangesAndABadFileKeepsTheOldRules() async throws {
        let setup = try await Self.setUp()
        defer { withExtendedLifetime(setup) {} }
        let (cluster, directory, rulesFile, engine) = (setup.cluster, setup.directory, setup.rules, setup.engine)

        func alert(for id: String) async throws -> [String: Any]? {
            try await cluster.produce(EngineTestEvents.records([EngineTestEvents.exec(id)]))
            return try await Self.alerts(in: cluster, covering: [id], limit: .seconds(60)).last { $0["auditID"] as? String == id }
        }
        let before = try #require(try await alert(for: "before"))
        #expect(before["rule"] as? String == "Every event")

        try directory.write("rules.yaml", EngineTestEvents.everyEventRule.replacingOccurrences(of: "Every event", with: "Renamed rule"))
        #expect(await engine.child.waitForOutput(containing: "rules reloaded"))
        let after = try #require(try await alert(for: "after"))
        #expect(after["rule"] as? String == "Renamed rule")
        let version = { (alert: [String: Any]) in (alert["output_fields"] as? [String: Any])?["auditpipe.rules_version"] as? String }
        #expect(version(after) != nil && version(after) != version(before))

        try directory.write("rules.yaml", EngineTestEvents.everyEventRule.replacingOccurrences(of: "ka.auditid exists", with: "ka.nosuchfield exists"))
        #expect(await engine.child.waitForOutput(containing: "\(rulesFile):3:"))
        #expect(engine.logs.contains("rules not reloaded"))
        let kept = try #require(try await alert(for: "kept"))
        #expect(kept["rule"] as? String == "Renamed rule")
        #expect(version(kept) == version(after))
        #expect(await engine.metric("auditpipe_engine_rule_reloads_total", ["result=\"failed\""]) == 1)
        #expect(await engine.child.stop() == 0)
    }

    @Test func sighupReloadsTheRulesAndABadReloadIsReported() async throws {
        let setup = try await Self.setUp(engine: ["rules_watch_interval": "0s"])
        defer { withExtendedLifetime(setup) {} }
        let (cluster, directory, rulesFile, engine) = (setup.cluster, setup.directory, setup.rules, setup.engine)
        try directory.write("rules.yaml", EngineTestEvents.everyEventRule.replacingOccurrences(of: "ka.auditid exists", with: "ka.auditid in ("))
        kill(engine.pid, SIGHUP)
        #expect(await engine.child.waitForOutput(containing: "rules not reloaded"))
        #expect(engine.logs.contains("\(rulesFile):3:"))
        try directory.write("rules.yaml", EngineTestEvents.everyEventRule.replacingOccurrences(of: "Every event", with: "After hangup"))
        kill(engine.pid, SIGHUP)
        #expect(await engine.child.waitForOutput(containing: "rules reloaded"))
        try await cluster.produce(EngineTestEvents.records([EngineTestEvents.exec("hup")]))
        let alerts = try await Self.alerts(in: cluster, covering: ["hup"], limit: .seconds(60))
        #expect(alerts.first { $0["auditID"] as? String == "hup" }?["rule"] as? String == "After hangup")
        #expect(await engine.child.stop() == 0)
    }

    @Test func shutdownFinishesAndCommitsTheBatchesInFlight() async throws {
        // Batches that would stay open for a minute: only the shutdown closes them.
        let setup = try await Self.setUp(engine: ["batch_max_wait": "60s", "batch_max_events": "100000"])
        defer { withExtendedLifetime(setup) {} }
        let (cluster, engine) = (setup.cluster, setup.engine)
        let (inFlightIDs, events) = EngineTestEvents.execs("inflight", 300)
        try await cluster.produce(EngineTestEvents.records(events))
        #expect(await eventually(within: .seconds(30)) { (await engine.metric("auditpipe_engine_in_flight_bytes") ?? 0) > 0 })
        #expect(try Self.committedOffsets(cluster).isEmpty)
        #expect(await engine.child.stop(signal: SIGTERM, within: .seconds(30)) == 0)
        #expect(engine.logs.contains("left the consumer group"))
        let ids = Set(inFlightIDs)
        let alerts = try await Self.alerts(in: cluster, covering: ids, limit: .seconds(30))
        #expect(Set(alerts.compactMap { $0["auditID"] as? String }) == ids)
        #expect(try Self.committedOffsets(cluster) == Self.highWatermarks(cluster))
    }

    @Test func usageAndRulesErrorsExitWithTwo() throws {
        let directory = try TemporaryDirectory()
        let rules = try directory.write("every.yaml", EngineTestEvents.everyEventRule)
        let noBrokers = try CLIRunner.run(["engine", "--rules", rules])
        #expect(noBrokers.status == 2)
        #expect(noBrokers.stderr.contains("no Kafka brokers"))
        let noRules = try CLIRunner.run(["engine", "--brokers", "127.0.0.1:1"])
        #expect(noRules.status == 2)
        let bad = try directory.write("bad.yaml", EngineTestEvents.everyEventRule.replacingOccurrences(of: "ka.auditid", with: "ka.auditidd"))
        let badRules = try CLIRunner.run(["engine", "--brokers", "127.0.0.1:1", "--rules", bad])
        #expect(badRules.status == 2)
        #expect(badRules.stderrLines.first?.hasPrefix("\(bad):3:") == true)
    }
}
