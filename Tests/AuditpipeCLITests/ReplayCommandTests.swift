import Foundation
import Kafka
import Testing
import TestSupport

/// `auditpipe replay` as a user runs it, against a dev cluster holding days of history.
@Suite(.serialized) struct ReplayCommandTests {
    static let day = ReplayHistory.day, firstDay = ReplayHistory.firstDay

    @Test func aReplayPrintsTheRangesAlertsAsJSONLinesAndASummary() async throws {
        let cluster = try TestCluster(partitions: 24)
        var history = ReplayHistory(partitions: 24)
        try await history.produce(to: cluster)
        let directory = try TemporaryDirectory()
        let rules = try directory.write("rules.yaml", ReplayHistory.rules)
        let from = Self.firstDay + Self.day, to = Self.firstDay + 2 * Self.day
        let inRange = history.events(from: from, to: to)

        let result = try CLIRunner.run(["replay", "--brokers", cluster.bootstrapServers, "--rules", rules,
                                        "--from", ReplayHistory.rfc3339(from), "--to", ReplayHistory.rfc3339(to)], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let alerts = result.stdoutLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(alerts.count == result.stdoutLines.count, "every stdout line is an alert")
        #expect(Set(alerts.compactMap { $0["auditID"] as? String })
                == Set(inRange.filter { $0.kind != .podList }.map(\.auditID)))
        #expect(alerts.allSatisfy { ($0["id"] as? String)?.isEmpty == false && $0["origin"] is [String: Any] })
        #expect(result.stderr.contains("\(inRange.count) events evaluated"))

        // The same range as a summary per rule and cluster, on stdout, with no alerts printed.
        let summary = try CLIRunner.run(["replay", "--brokers", cluster.bootstrapServers, "--rules", rules,
                                         "--from", ReplayHistory.rfc3339(from), "--to", ReplayHistory.rfc3339(to),
                                         "--summary", "--by-cluster", "--cluster", "prod-eu"], timeout: 120)
        #expect(summary.status == 0, "\(summary.stderr)")
        let lines = summary.stdoutLines
        #expect(lines.first?.hasPrefix("RULE") == true && lines.first?.contains("CLUSTER") == true)
        let secretReads = inRange.filter { $0.cluster == "prod-eu" && { if case .secretRead = $0 { true } else { false } }($0.kind) }
        let secretRow = try #require(lines.first { $0.hasPrefix("Secret read") })
        #expect(secretRow.contains("prod-eu") && secretRow.contains(" \(secretReads.count) "))
        #expect(!lines.contains { $0.contains("prod-us") })

        // A rule change reviewed over the same range: narrowed, removed and new rules.
        let changed = try directory.write("changed.yaml", ReplayHistory.changedRules)
        let diff = try CLIRunner.run(["replay", "--brokers", cluster.bootstrapServers, "--rules", changed, "--diff", rules,
                                      "--from", ReplayHistory.rfc3339(from), "--to", ReplayHistory.rfc3339(to)], timeout: 120)
        #expect(diff.status == 0, "\(diff.stderr)")
        let aliceReads = inRange.filter { $0.kind == .secretRead(user: "alice") }.count
        let allReads = inRange.filter { if case .secretRead = $0.kind { true } else { false } }.count
        let narrowed = try #require(diff.stdoutLines.first { $0.hasPrefix("Secret read") })
        #expect(narrowed.contains(" \(allReads) ") && narrowed.contains(" \(aliceReads) ") && narrowed.hasSuffix("fires less"))
        #expect(diff.stdoutLines.contains { $0.hasPrefix("Configmap deleted") && $0.hasSuffix("removed rule") })
        #expect(diff.stdoutLines.contains { $0.hasPrefix("Pod listed") && $0.hasSuffix("new rule") })
    }

    @Test func usageRulesAndKafkaProblemsAreClearErrors() throws {
        let directory = try TemporaryDirectory()
        let rules = try directory.write("rules.yaml", ReplayHistory.rules)
        let broken = try directory.write("broken.yaml", """
            - rule: Broken
              desc: x
              condition: ka.verb in (get, list
              output: x
              priority: WARNING
              source: k8s_audit

            """)

        let live = try CLIRunner.run(["replay", "--brokers", "127.0.0.1:1", "--rules", rules, "--from", "-1d",
                                      "--output", "topic:k8s-audit.alerts"])
        #expect(live.status == 2)
        #expect(live.stderr.contains("--allow-live-topic"))

        let badRules = try CLIRunner.run(["replay", "--brokers", "127.0.0.1:1", "--rules", broken, "--from", "-1d"])
        #expect(badRules.status == 2)
        #expect(badRules.stderr.contains("\(broken):3:"), "\(badRules.stderr)")

        let badTime = try CLIRunner.run(["replay", "--brokers", "127.0.0.1:1", "--rules", rules, "--from", "yesterday"])
        #expect(badTime.status == 2)
        #expect(badTime.stderr.contains("RFC 3339"))

        let port = try FreePort.allocate()
        let unreachable = try CLIRunner.run(["replay", "--brokers", "127.0.0.1:\(port)", "--rules", rules, "--from", "-1d",
                                             "--broker-timeout", "2"], timeout: 60)
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach the Kafka brokers 127.0.0.1:\(port)"), "\(unreachable.stderr)")
    }
}
