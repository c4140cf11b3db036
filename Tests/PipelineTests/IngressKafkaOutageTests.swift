import Foundation
import Kafka
import Pipeline
import Settings
import TestSupport
import Testing

/// When Kafka is down or slow the ingress answers 503 (or 429 when full) quickly, with Retry-After, and an
/// apiserver that resends as told loses nothing.
@Suite(.serialized) struct IngressKafkaOutageTests {
    /// librdkafka reconnects within half a second of the broker's return instead of up to 10 s.
    static let quickReconnect = ["reconnect.backoff.ms": "100", "reconnect.backoff.max.ms": "500"]
    /// Messages outlive the short produce timeouts these tests set. By default they expire with it, and on a
    /// loaded machine a first produce slower than that expires, makes the idempotent producer renew its id
    /// and can keep failing the warm-up; the 503s under test do not depend on the messages expiring.
    static let patientMessages = ["message.timeout.ms": "60000"]

    @Test func kafkaDownGets503WithinTheProduceTimeout() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.produceTimeout = ConfigDuration(.seconds(2))
            $0.retryAfter = ConfigDuration(.seconds(3))
        }, kafkaSettings: Self.patientMessages)
        try await ingress.warmUp()
        try cluster.cluster.setBroker(1, up: false)
        let started = ContinuousClock.now
        let reply = try await ingress.post(body: AuditBodies.eventList(AuditBodies.events(50)))
        let elapsed = ContinuousClock.now - started
        #expect(reply.status == 503, "\(reply.text)")
        #expect(reply.headers.first(name: "Retry-After") == "3")
        #expect(reply.text.hasPrefix("Kafka did not acknowledge the events within 2"), "\(reply.text)")
        // Not librdkafka's 30 s message timeout. (The precise bound is measured against a separate ingress process
        // in IngressCommandTests: here, other tests blocking this process's threads can delay any answer.)
        #expect(elapsed >= .seconds(1.9) && elapsed < .seconds(15), "503 after \(elapsed)")

        let readiness = try await eventually(within: .seconds(10)) { try await ingress.get("/readyz").status == 503 }
        #expect(readiness, "/readyz still says ready with the broker down")
        try cluster.cluster.setBroker(1, up: true)
        #expect(try await ingress.metric(#"auditpipe_ingress_requests_total{status="503"}"#) ?? 0 >= 1)
        #expect(try await ingress.metric(#"auditpipe_ingress_kafka_errors_total{error="produce_timeout"}"#) ?? 0 >= 1)
        try await ingress.stop()
    }

    @Test func aSlowKafkaGets503AsWell() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.produceTimeout = ConfigDuration(.seconds(1))
        }, kafkaSettings: Self.patientMessages)
        try await ingress.warmUp()
        try cluster.cluster.setBroker(1, latency: .seconds(3))
        let started = ContinuousClock.now
        let reply = try await ingress.post(body: AuditBodies.event(id: "slow"))
        #expect(reply.status == 503, "\(reply.text)")
        #expect(ContinuousClock.now - started < .seconds(15), "not the 3 s Kafka takes")
        try cluster.cluster.setBroker(1, latency: .zero)
        try await ingress.stop()
    }

    @Test func tooManyBytesInFlightGets429() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let events = AuditBodies.events(40)
        let body = AuditBodies.eventList(events)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.maxBodySize = ByteSize(body.count + 100)
            $0.maxInflightBytes = ByteSize(body.count + body.count / 2)
            $0.retryAfter = ConfigDuration(.milliseconds(1500))
        })
        try await ingress.warmUp()
        // A slow Kafka keeps the first request's bytes in flight while the second arrives.
        try cluster.cluster.setBroker(1, latency: .seconds(5))
        async let first = ingress.post(body: body)
        let holding = try await eventually(within: .seconds(5), every: .milliseconds(20)) {
            try await ingress.metric("auditpipe_ingress_inflight_bytes") ?? 0 >= Double(body.count)
        }
        #expect(holding, "the first request never held its bytes")
        let second = try await ingress.post(body: body)
        #expect(second.status == 429, "\(second.text)")
        #expect(second.headers.first(name: "Retry-After") == "2")
        #expect(second.text.hasPrefix("too many bytes in flight"))
        #expect(try await first.status == 200)
        try cluster.cluster.setBroker(1, latency: .zero)
        // Once the first is acknowledged its bytes are free again.
        #expect(try await ingress.post(body: body).status == 200)
        #expect(try await ingress.metric(#"auditpipe_ingress_requests_total{status="429"}"#) == 1)
        try await ingress.stop()
    }

    /// An apiserver's webhook backend in miniature: batches in order, each resent on 503 and 429 after
    /// Retry-After, until accepted. Bounded in attempts and time.
    struct RetryingSender {
        let ingress: IngressHarness
        var attempts = 0
        var statuses: [Int: Int] = [:]

        mutating func deliver(_ body: [UInt8], deadline: ContinuousClock.Instant) async throws -> Bool {
            while ContinuousClock.now < deadline {
                attempts += 1
                let reply = try await ingress.post("/k8s-audit/retry", body: body)
                statuses[reply.status, default: 0] += 1
                switch reply.status {
                case 200: return true
                case 429, 503:
                    // Honour Retry-After, capped so the test stays short.
                    let seconds = Double(reply.headers.first(name: "Retry-After") ?? "1") ?? 1
                    try await Task.sleep(for: .seconds(min(seconds, 0.5)))
                default:
                    Issue.record("unexpected \(reply.status): \(reply.text)")
                    return false
                }
            }
            return false
        }
    }

    @Test func aBrokerDownMidStreamLosesNothingThatTheSenderRetried() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 8)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.produceTimeout = ConfigDuration(.seconds(1))
            $0.retryAfter = ConfigDuration(.seconds(1))
        }, kafkaSettings: Self.quickReconnect)
        let batches = (0..<24).map { batch in (0..<25).map { AuditBodies.event(id: "b\(batch)-e\($0)", namespace: "ns-\($0 % 3)") } }
        var sender = RetryingSender(ingress: ingress)
        let deadline = ContinuousClock.now + .seconds(90)
        var outage: Task<Void, any Error>?
        for (index, batch) in batches.enumerated() {
            if index == 8 {
                // The broker goes away for a few seconds while batches keep coming.
                try cluster.cluster.setBroker(1, up: false)
                outage = Task {
                    try await Task.sleep(for: .seconds(4))
                    try cluster.cluster.setBroker(1, up: true)
                }
            }
            #expect(try await sender.deliver(AuditBodies.eventList(batch), deadline: deadline), "batch \(index)")
        }
        try await outage?.value
        #expect(sender.statuses[503, default: 0] >= 1, "the outage was never seen: \(sender.statuses)")
        #expect(sender.statuses[200] == batches.count)

        // Every event the sender was told to resend is in Kafka; duplicates are allowed (at-least-once).
        let expected = Set(batches.joined().compactMap { AuditBodies.auditID($0) })
        let found = try await blocking {
            var found: Set<String> = []
            var counted = 0
            _ = try cluster.read("k8s-audit.raw", limit: .seconds(60)) { messages in
                for message in messages[counted...] { if let id = AuditBodies.auditID(message.value) { found.insert(id) } }
                counted = messages.count
                return found.isSuperset(of: expected)
            }
            return found
        }
        #expect(expected.subtracting(found).isEmpty, "missing: \(expected.subtracting(found).sorted().prefix(10))")
        #expect(found.isSubset(of: expected))
        try await ingress.stop()
    }
}
