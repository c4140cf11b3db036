import Foundation
import Kafka
import TestSupport
import Testing

/// `auditpipe loadgen` against a real `auditpipe ingress` on a test cluster, and writing JSON lines.
@Suite struct LoadgenCommandTests {
    /// An ingress process on the cluster; its base URL.
    static func startIngress(_ cluster: TestCluster, config: String? = nil) async throws -> (ChildProcess, String) {
        let port = try FreePort.allocate()
        let ingress = try ChildProcess(CLIRunner.binary, ["ingress", "--brokers", cluster.bootstrapServers,
                                                          "--listen", "127.0.0.1:\(port)"] + (config.map { ["--config", $0] } ?? []))
        #expect(await ingress.waitForOutput(containing: "ingress listening on", within: .seconds(60)), "\(ingress.stderr)")
        return (ingress, "http://127.0.0.1:\(port)")
    }

    /// The count after `label` in the loadgen's summary line (`acknowledged 2,000 events`).
    static func count(after label: String, in report: String) -> Int? {
        guard let line = report.split(separator: "\n").last(where: { $0.hasPrefix("loadgen: sent") }),
              let range = line.range(of: label) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber || $0 == "," }.filter(\.isNumber))
    }

    @Test func theAcknowledgedEventsAreTheOnesInKafka() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 8)
        let (ingress, url) = try await Self.startIngress(cluster)
        let result = try CLIRunner.run(["loadgen", "--url", url, "--events", "2000", "--batch", "400", "--clusters", "3",
                                        "--connections", "4", "--distinct", "500"], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Self.count(after: "acknowledged ", in: result.stdout) == 2000, "\(result.stdout)")
        #expect(Self.count(after: "sent ", in: result.stdout) == 2000)
        #expect(result.stdout.contains("refused: none (retried 0)"))
        #expect(result.stdout.contains("latency p50 "))

        // Everything the topic holds (the reader's group takes a few seconds to join before the first message).
        let messages = try cluster.readAll(cluster.topics.raw, quiet: .seconds(8), limit: .seconds(60))
        let events = messages.compactMap { try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
        #expect(events.count == 2000, "exactly what was acknowledged")
        #expect(Set(events.compactMap { $0["auditID"] as? String }).count == 2000, "every event has its own auditID")
        #expect(Set(messages.compactMap { $0.header("cluster") }) == ["cluster-1", "cluster-2", "cluster-3"])
        await ingress.stop()
    }

    @Test func refusedRequestsAreCountedAndResentAfterRetryAfter() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 8)
        let directory = try TemporaryDirectory()
        // Room for one request body at a time: concurrent requests are answered 429 with Retry-After: 1.
        let config = try directory.write("ingress.yaml", """
            ingress:
              max_body_size: 600KiB
              max_inflight_bytes: 600KiB
              retry_after: 1s
            """)
        let (ingress, url) = try await Self.startIngress(cluster, config: config)
        let result = try CLIRunner.run(["loadgen", "--url", url, "--events", "4000", "--batch", "400", "--connections", "6",
                                        "--distinct", "400"], timeout: 180)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Self.count(after: "acknowledged ", in: result.stdout) == 4000, "\(result.stdout)")
        let refused = try #require(Self.count(after: "refused: 429 ×", in: result.stdout), "\(result.stdout)")
        #expect(refused > 0)
        #expect(Self.count(after: "(retried ", in: result.stdout) == refused, "each refusal was resent")
        #expect(Self.count(after: "sent ", in: result.stdout) == 4000 + 400 * refused, "retries count as sent again")
        let stored = try cluster.read(cluster.topics.raw, count: 4000, limit: .seconds(60))
        #expect(Set(stored.compactMap { try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
            .compactMap { $0["auditID"] as? String }).count == 4000)
        await ingress.stop()
    }

    @Test func jsonLinesAreAuditEventsThatRulesCatch() throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("sample.jsonl")
        let written = try CLIRunner.run(["loadgen", "--sample", "--jsonl", file])
        #expect(written.status == 0, "\(written.stderr)")
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 114)
        let events = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.count == lines.count, "every line is a JSON object")
        #expect(events.allSatisfy { $0["kind"] as? String == "Event" && $0["apiVersion"] as? String == "audit.k8s.io/v1" })
        #expect(Set(events.compactMap { $0["auditID"] as? String }).count == lines.count)
        // Timestamps are now, as the apiserver writes them (microseconds, UTC).
        let stamp = try #require(events.first?["stageTimestamp"] as? String)
        #expect(stamp.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/#) != nil, "\(stamp)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = try #require(formatter.date(from: stamp))
        #expect(abs(date.timeIntervalSinceNow) < 600)

        // auditpipe check takes every line as an audit event, and the project's rules catch the sample's attacks.
        let checked = try CLIRunner.run(["check", "--rules", RepositoryPaths.projectRules, "--events", file])
        #expect(checked.status == 0, "\(checked.stderr)")
        let rules = Set(checked.stdoutLines.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["rule"] as? String
        })
        #expect(rules.isSuperset(of: ["Privileged Container in Pod Spec", "Exec or Attach Into Pod",
                                       "Binding To Cluster Admin Role"]), "\(rules)")
    }

    @Test func theGeneratedMixIsWrittenToStandardOutput() throws {
        let result = try CLIRunner.run(["loadgen", "--jsonl", "-", "--events", "1000", "--distinct", "300"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutLines
        #expect(lines.count == 1000)
        let ids = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["auditID"] as? String }
        #expect(Set(ids).count == 1000, "templates sent again get fresh auditIDs")
    }
}
