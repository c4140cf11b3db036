import ArgumentParser
import AsyncHTTPClient
import Foundation
import Pipeline
import Settings

struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Send realistic audit events to an ingress (as kube-apiservers do), or write them as JSON lines.",
        discussion: """
            The events are the mix of a busy control plane (controller reads, lease renewals, kubelet status \
            patches, events, people's kubectl with full objects) with a small share of attacks that rules catch; \
            each is sent with a fresh auditID and the current time. Requests are EventLists of --batch events \
            POSTed to <url>/k8s-audit/<cluster> for --clusters clusters in turn, over --connections keep-alive \
            connections, at --rate events/s (as fast as answered without), for --duration or --events. Answers \
            429 and 503 are resent after their Retry-After, as the apiserver does. Prints what was sent, \
            acknowledged (200) and refused (by status), and latency percentiles, every few seconds and at the end. \
            Exit status 1 when some events were never acknowledged.
            """
    )

    @Option(help: "The ingress's base URL.")
    var url = "http://127.0.0.1:8765"

    @Option(help: "Clusters to send as (cluster-1 … cluster-N, one per request in turn).")
    var clusters = 1

    @Option(help: "Events per EventList (the apiserver's --audit-webhook-batch-max-size).")
    var batch = 400

    @Option(help: "Keep-alive connections, one request in flight on each.")
    var connections = 8

    @Option(help: "Target events per second over all connections (default: as fast as the ingress answers).")
    var rate: Double?

    @Option(help: "How long to send (250ms, 30s, 5m); default 10s unless --events or --sample.")
    var duration: String?

    @Option(help: "How many events to send (or write) in all.")
    var events: Int?

    @Option(help: "Write the events as JSON lines to FILE (- for standard output) instead of sending them.")
    var jsonl: String?

    @Flag(help: "Send the built-in sample (a fixed, realistic mix with a few attacks) once to each cluster.")
    var sample = false

    @Option(help: "Seed of the generated mix (the same seed gives the same events, apart from auditIDs and times).")
    var seed: UInt64 = 42

    @Option(help: "Distinct events generated for the mix, sent in turn.")
    var distinct = 20_000

    @Option(help: "A bearer token, for an ingress with auth on.")
    var token: String?

    @Option(help: "First wait up to this long (60s) for <url>/readyz to answer 200.")
    var waitReady: String?

    @Option(help: "Seconds between progress lines (0: none).")
    var reportEvery = 5

    func validate() throws {
        guard clusters >= 1 else { throw ValidationError("--clusters must be at least 1") }
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 100000") }
        guard (1...1024).contains(connections) else { throw ValidationError("--connections must be between 1 and 1024") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be more than 0 events/s") }
        if let events, events < 1 { throw ValidationError("--events must be at least 1") }
        guard distinct >= 1 else { throw ValidationError("--distinct must be at least 1") }
        for (flag, value) in [("--duration", duration), ("--wait-ready", waitReady)] {
            if let value, ConfigDuration.parse(value) == nil {
                throw ValidationError("\(flag) '\(value)' is not a duration (examples: 500ms, 30s, 5m)")
            }
        }
        guard URL(string: url)?.host != nil else { throw ValidationError("--url '\(url)' is not an http(s) URL") }
    }

    func run() async throws {
        let templates = sample ? LoadEvents.sample() : LoadEvents.generated(count: distinct, seed: seed)
        let events = LoadEvents(templates: templates)
        let batchSize = sample ? min(batch, templates.count) : batch
        let total = self.events ?? (sample ? templates.count * clusters : nil)

        if let jsonl {
            try writeJSONLines(events, to: jsonl, count: total ?? 10_000, batchSize: batchSize)
            return
        }
        if let waitReady, let limit = ConfigDuration.parse(waitReady), !(await Self.waitUntilReady(url, within: limit)) {
            StandardError.print("auditpipe loadgen: \(url)/readyz did not answer 200 within \(waitReady)")
            throw ExitCode(1)
        }
        var plan = LoadPlan(url: url, clusters: (1...clusters).map { "cluster-\($0)" })
        plan.batchSize = batchSize
        plan.connections = connections
        plan.rate = rate
        plan.totalEvents = total
        plan.duration = duration.flatMap(ConfigDuration.parse) ?? (total == nil ? .seconds(10) : nil)
        plan.bearerToken = token
        print("""
            loadgen: \(total.map { "\(LoadReport.count($0)) events" } ?? "for \(plan.duration!)") to \(url)/k8s-audit/\
            {\(plan.clusters.count == 1 ? plan.clusters[0] : "cluster-1…cluster-\(clusters)")}, EventLists of \(batchSize), \
            \(connections) connections, \(rate.map { "\(LoadReport.rate($0)) events/s" } ?? "as fast as answered")
            """)
        let load = WebhookLoad(plan: plan, events: events)
        let last = LastSnapshot(load.statistics.snapshot())
        let result = await load.run(progressEvery: .seconds(max(reportEvery, 1))) { snapshot in
            guard reportEvery > 0 else { return }
            print(LoadReport.progress(snapshot, since: last.swap(snapshot)))
        }
        print("loadgen: " + LoadReport.summary(result))
        if result.eventsFailed > 0 { throw ExitCode(1) }
    }

    private func writeJSONLines(_ events: LoadEvents, to path: String, count: Int, batchSize: Int) throws {
        let handle: FileHandle
        if path == "-" {
            handle = .standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
                StandardError.print("auditpipe loadgen: cannot write \(path)")
                throw ExitCode(1)
            }
            handle = file
        }
        try events.jsonLines(count: count, batchSize: batchSize) { try handle.write(contentsOf: $0) }
        if path != "-" { try handle.close() }
        StandardError.print("loadgen: wrote \(LoadReport.count(count)) events to \(path == "-" ? "standard output" : path)")
    }

    /// Polls GET <url>/readyz until it answers 200 or `limit` passed.
    static func waitUntilReady(_ url: String, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/readyz"), timeout: .seconds(3)),
               response.status.code == 200 {
                return true
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}

/// The snapshot of the previous progress line.
private final class LastSnapshot: @unchecked Sendable {
    private let lock = NSLock()
    private var value: LoadStatistics.Snapshot

    init(_ value: LoadStatistics.Snapshot) { self.value = value }

    func swap(_ new: LoadStatistics.Snapshot) -> LoadStatistics.Snapshot {
        lock.withLock {
            defer { value = new }
            return value
        }
    }
}
