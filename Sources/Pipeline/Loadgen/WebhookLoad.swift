import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// What a load run sends and how fast.
public struct LoadPlan: Sendable {
    /// The ingress's base URL (`http://127.0.0.1:8765`); requests go to `<url>/k8s-audit/<cluster>`.
    public var url: String
    /// The clusters the requests claim to come from, in turn.
    public var clusters: [String]
    /// Events per EventList (the apiserver's `--audit-webhook-batch-max-size`, 400 by default).
    public var batchSize = 400
    /// Keep-alive connections, each with one request in flight.
    public var connections = 8
    /// Events per second over all connections; nil: each connection sends as soon as its last request is answered.
    public var rate: Double?
    /// Stops after this long…
    public var duration: Duration?
    /// …or after this many events (the run's events in turn), whichever comes first.
    public var totalEvents: Int?
    /// A request answered 429 or 503 (or not at all) is resent after its Retry-After (1 s without one),
    /// up to this many attempts in all, as the apiserver does.
    public var maxAttempts = 20
    /// A bearer token for ingresses with auth on.
    public var bearerToken: String?

    public init(url: String, clusters: [String]) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.clusters = clusters
    }
}

/// A load generator for the ingress: POSTs EventLists as kube-apiservers do (over keep-alive connections,
/// resending what is answered 429 or 503), at a target rate or as fast as the ingress answers, and counts
/// what happened in `statistics`.
public final class WebhookLoad: Sendable {
    public let plan: LoadPlan
    public let statistics = LoadStatistics()
    public let events: LoadEvents
    private let nextRequest = Mutex(0)
    private let onSent: (@Sendable (_ request: UInt32, _ at: ContinuousClock.Instant) -> Void)?

    /// - Parameter onSent: called as each request (first attempt) is sent, with its number (as in its auditIDs).
    public init(plan: LoadPlan, events: LoadEvents,
                onSent: (@Sendable (_ request: UInt32, _ at: ContinuousClock.Instant) -> Void)? = nil) {
        precondition(!plan.clusters.isEmpty && plan.batchSize > 0 && plan.connections > 0)
        self.plan = plan
        self.events = events
        self.onSent = onSent
    }

    /// Sends until the plan's duration or event count is reached; `progress` is called every `interval` meanwhile.
    public func run(progressEvery interval: Duration = .seconds(5),
                    progress: (@Sendable (LoadStatistics.Snapshot) -> Void)? = nil) async -> LoadStatistics.Snapshot {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: plan.connections)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let started = ContinuousClock.now
        let deadline = plan.duration.map { started + $0 }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<plan.connections {
                group.addTask { await self.connection(client: client, started: started, deadline: deadline) }
            }
            if let progress {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if !Task.isCancelled { progress(self.statistics.snapshot()) }
                    }
                }
            }
            // The connections finish; the progress task (if any) is the one left.
            for _ in 0..<plan.connections { await group.next() }
            group.cancelAll()
        }
        try? await client.shutdown()
        return statistics.snapshot()
    }

    /// One connection's loop: take the next request number, wait for its turn (at a target rate), send it until
    /// it is acknowledged or given up on.
    private func connection(client: HTTPClient, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant?) async {
        while !Task.isCancelled {
            let number = nextRequest.withLock { value in
                defer { value += 1 }
                return value
            }
            let first = number * plan.batchSize
            let count = min(plan.batchSize, (plan.totalEvents ?? Int.max) - first)
            guard count > 0 else { return }
            if let rate = plan.rate {
                let due = started + .seconds(Double(first) / rate)
                if let deadline, due >= deadline { return }
                try? await Task.sleep(until: due, clock: .continuous)
            }
            if let deadline, ContinuousClock.now >= deadline { return }
            let cluster = plan.clusters[number % plan.clusters.count]
            let body = ByteBuffer(bytes: events.eventList(request: number, first: first, count: count))
            await send(client: client, body: body, events: count, cluster: cluster, number: UInt32(truncatingIfNeeded: number))
        }
    }

    private func send(client: HTTPClient, body: ByteBuffer, events: Int, cluster: String, number: UInt32) async {
        var request = HTTPClientRequest(url: "\(plan.url)/k8s-audit/\(cluster)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token = plan.bearerToken { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for attempt in 1...plan.maxAttempts {
            request.body = .bytes(body)
            let sent = ContinuousClock.now
            if attempt == 1 { onSent?(number, sent) }
            statistics.sent(events: events, bytes: body.readableBytes, retry: attempt > 1)
            var retryAfter = Duration.seconds(1)
            do {
                let response = try await client.execute(request, timeout: .seconds(60))
                let answer = try await response.body.collect(upTo: 1 << 20)
                let status = Int(response.status.code)
                if status == 200 {
                    let counts = Self.counts(answer) ?? (events, 0)
                    statistics.acknowledged(accepted: counts.accepted, rejected: counts.rejected,
                                            latency: ContinuousClock.now - sent)
                    return
                }
                statistics.refused(status: status)
                // Only "not now" answers are worth resending; a 4xx other than 429 would be refused again.
                guard status == 429 || status == 503 else { break }
                if let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init) {
                    retryAfter = .seconds(max(0, seconds))
                }
            } catch {
                statistics.refused(status: 0)
            }
            if Task.isCancelled || attempt == plan.maxAttempts { break }
            try? await Task.sleep(for: retryAfter)
        }
        statistics.failed(events: events)
    }

    /// `accepted` and `rejected` of the ingress's answer.
    static func counts(_ answer: ByteBuffer) -> (accepted: Int, rejected: Int)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView)) as? [String: Any],
              let accepted = object["accepted"] as? Int else { return nil }
        return (accepted, object["rejected"] as? Int ?? 0)
    }
}
