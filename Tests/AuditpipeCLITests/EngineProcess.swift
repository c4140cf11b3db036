import AsyncHTTPClient
import Foundation
import Kafka
import TestSupport

/// An `auditpipe engine` process on a test cluster: its config file, its metrics port, its logs.
/// Stopped (SIGKILL) when the test lets go of it, like every ChildProcess.
final class EngineProcess: @unchecked Sendable {
    let child: ChildProcess
    let metricsPort: Int
    let configPath: String

    /// - Parameters:
    ///   - engine: extra `engine:` settings (YAML values as written).
    ///   - kafka: extra librdkafka settings.
    init(cluster: TestCluster, rules: [String], directory: TemporaryDirectory, name: String = "engine",
         engine: [String: String] = [:], kafka: [String: String] = [:]) throws {
        metricsPort = try FreePort.allocate()
        // A short session timeout, so that a killed member's partitions move within seconds.
        let kafkaSettings = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"].merging(kafka) { _, new in new }
        let engineSettings = ["rules_watch_interval": "200ms"].merging(engine) { _, new in new }
        var lines = ["kafka:", "  brokers: \"\(cluster.bootstrapServers)\"", "  settings:"]
        lines += kafkaSettings.sorted { $0.key < $1.key }.map { "    \($0.key): \"\($0.value)\"" }
        lines += ["engine:", "  rules: [\(rules.map { "\"\($0)\"" }.joined(separator: ", "))]",
                  "  metrics_listen: 127.0.0.1:\(metricsPort)"]
        lines += engineSettings.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }
        configPath = try directory.write("\(name).yaml", lines.joined(separator: "\n") + "\n")
        child = try ChildProcess(RepositoryPaths.builtExecutable("auditpipe"), ["engine", "--config", configPath])
    }

    var pid: Int32 { child.process.processIdentifier }
    var logs: String { child.stderr }

    /// Times the logs say `text`.
    func count(_ text: String) -> Int { logs.components(separatedBy: text).count - 1 }

    /// Waits until the engine got partitions (`times` assignments seen in its logs).
    func waitUntilAssigned(times: Int = 1, within limit: Duration = .seconds(60)) async -> Bool {
        await eventually(within: limit) { count("partitions assigned") >= times }
    }

    /// Waits until the members' rebalance logs stay unchanged for `quiet` (bounded): on a loaded machine a join can
    /// take more than one rebalance round, and events produced between rounds may be evaluated twice on the mock
    /// cluster (it refuses commits while a group is joining).
    static func waitUntilSettled(_ members: [EngineProcess], quiet: Duration = .seconds(3),
                                 within limit: Duration = .seconds(60)) async {
        let deadline = ContinuousClock.now + limit
        func rebalances() -> [Int] { members.map { $0.count("partitions assigned") + $0.count("partitions revoked") } }
        var last = rebalances()
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: quiet)
            let now = rebalances()
            if now == last { return }
            last = now
        }
    }

    /// Resident memory of the process, from /proc.
    var residentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return kilobytes * 1024
    }

    /// GET a path of the ops server (nil if it does not answer).
    func get(_ path: String) async -> (status: Int, body: String)? {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(metricsPort)\(path)"),
                                                               timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 8 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            return nil
        }
    }

    /// The sum of a metric's samples whose line contains every one of `labels` (Prometheus text format).
    func metric(_ name: String, _ labels: [String] = []) async -> Double? {
        guard let (status, text) = await get("/metrics"), status == 200 else { return nil }
        let samples = text.split(separator: "\n").filter { line in
            (line.hasPrefix(name + " ") || line.hasPrefix(name + "{")) && labels.allSatisfy { line.contains($0) }
        }
        guard !samples.isEmpty else { return nil }
        return samples.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

/// Compact audit events for engine tests (the dev cluster keeps only a few MB per partition).
enum EngineTestEvents {
    /// An exec into a pod: Falco's "Attach/Exec Pod" and most rule sets fire on it. `padding` adds bytes.
    static func exec(_ id: String, user: String = "alice", padding: Int = 0) -> String {
        let pad = padding > 0 ? ",\"annotations\":{\"pad\":\"\(String(repeating: "x", count: padding))\"}" : ""
        return """
            {"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"\(id)","stage":"ResponseStarted","verb":"create",\
            "requestURI":"/api/v1/namespaces/web/pods/api-1/exec?command=sh","user":{"username":"\(user)","groups":["dev"]},\
            "objectRef":{"resource":"pods","namespace":"web","name":"api-1","subresource":"exec"},\
            "stageTimestamp":"2026-11-26T10:00:00.5Z"\(pad)}
            """
    }

    /// `count` exec events with auditIDs `prefix-0`, `prefix-1`, …: the ids and the events.
    static func execs(_ prefix: String, _ count: Int, padding: Int = 0) -> (ids: [String], events: [String]) {
        let ids = (0..<count).map { "\(prefix)-\($0)" }
        return (ids, ids.map { exec($0, padding: padding) })
    }

    /// A rule that alerts on every audit event, naming its auditID.
    static let everyEventRule = """
        - rule: Every event
          desc: fires on every audit event
          condition: ka.auditid exists
          output: event %ka.auditid by %ka.user.name
          priority: notice
          source: k8s_audit
          tags: [test]

        """

    /// Raw-topic records as ingress writes them: key `<cluster>/<namespace>`, header `cluster`.
    static func records(_ events: [String], cluster: String = "prod-eu", topic: String = "k8s-audit.raw") -> [KafkaRecord] {
        events.enumerated().map { index, event in
            KafkaRecord(topic: topic, key: Array("\(cluster)/ns-\(index % 97)".utf8), value: Array(event.utf8),
                        headers: [KafkaHeader("cluster", cluster), KafkaHeader("received-at", "2026-11-26T10:00:00.5Z")])
        }
    }

    /// Parses alert messages' values as JSON objects.
    static func alerts(_ messages: [KafkaMessage]) -> [[String: Any]] {
        messages.compactMap { try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
    }
}
