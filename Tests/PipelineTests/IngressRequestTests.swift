import Foundation
import Kafka
import Pipeline
import Settings
import TestSupport
import Testing

/// Bodies the ingress cannot take are answered at once with a status and a message that names the problem, and
/// nothing of them reaches Kafka; the operational endpoints answer on the same port.
@Suite(.serialized) struct IngressRequestTests {
    @Test func malformedBodiesGet400WithTheProblem() async throws {
        // One partition: an event posted last is read after anything posted before it.
        let cluster = try TestCluster(brokers: 1, partitions: 1)
        let ingress = try await IngressHarness(cluster: cluster)
        let cases: [(body: String, message: String)] = [
            (#"{"kind":"EventList","items":[{"kind":"Event""#, "malformed JSON: "),
            ("not json at all", "malformed JSON: "),
            (#"{"kind":"Pod","apiVersion":"v1"}"#, "the body is neither an EventList nor an audit Event: not an audit event: kind is Pod, not Event"),
            (#"{"kind":"Event","auditID":"x"}"#, "the body is neither an EventList nor an audit Event: not an audit event: no stage"),
            (#"[{"kind":"Event"}]"#, "a JSON array: the body must be an EventList or a single Event"),
            (#""a string""#, "a JSON value that is not an object"),
            (#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}"#, "an EventList without an items array"),
        ]
        for (body, message) in cases {
            let reply = try await ingress.post("/k8s-audit/bad", body: Array(body.utf8))
            #expect(reply.status == 400, "\(body)")
            #expect(reply.text.hasPrefix(message), "\(body) -> \(reply.text)")
        }
        let badCluster = try await ingress.post("/k8s-audit/no%20spaces", body: AuditBodies.event(id: "x"))
        #expect(badCluster.status == 400)
        #expect(badCluster.text.contains("is not a cluster name"), "\(badCluster.text)")
        let notGzip = try await ingress.post(body: AuditBodies.event(id: "x"), headers: [("Content-Encoding", "gzip")])
        #expect(notGzip.status == 400)
        #expect(notGzip.text.hasPrefix("Content-Encoding is gzip, but not valid gzip data"), "\(notGzip.text)")
        let truncated = try AuditBodies.gzip(AuditBodies.eventList(AuditBodies.events(20)))
        let cut = try await ingress.post(body: Array(truncated.prefix(truncated.count / 2)), headers: [("Content-Encoding", "gzip")])
        #expect(cut.status == 400)
        #expect(cut.text.contains("ends early"), "\(cut.text)")
        let brotli = try await ingress.post(body: AuditBodies.event(id: "x"), headers: [("Content-Encoding", "br")])
        #expect(brotli.status == 415)
        #expect(brotli.text.hasPrefix("Content-Encoding 'br' is not supported"))

        let marker = AuditBodies.event(id: "after-the-bad-ones")
        #expect(try await ingress.post(body: marker).status == 200)
        let messages = try await blocking { try cluster.read("k8s-audit.raw", count: 1) }
        #expect(messages.map(\.value) == [marker], "only the valid event reached Kafka")
        let metrics = try await ingress.get("/metrics").text
        #expect(metrics.contains(#"auditpipe_ingress_requests_total{status="400"} 10"#), "\(metrics)")
        #expect(metrics.contains(#"auditpipe_ingress_requests_total{status="200"} 1"#))
        #expect(metrics.contains(#"auditpipe_ingress_requests_total{status="415"} 1"#))
        #expect(metrics.contains("auditpipe_ingress_refused_bodies_total 11"))
        try await ingress.stop()
    }

    @Test func bodiesPastTheLimitGet413EvenWhenOnlyTheirDecodingIs() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 2)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.maxBodySize = ByteSize(64 << 10)
        })
        let large = AuditBodies.eventList(AuditBodies.events(100))
        #expect(large.count > 64 << 10)
        let reply = try await ingress.post(body: large)
        #expect(reply.status == 413)
        #expect(reply.text.contains("max_body_size (65536"), "\(reply.text)")
        // Small on the wire, past the limit once decoded (a "zip bomb"): refused while decoding.
        let bomb = try AuditBodies.gzip([UInt8](repeating: 0x20, count: 8 << 20))
        #expect(bomb.count < 64 << 10)
        let bombReply = try await ingress.post(body: bomb, headers: [("Content-Encoding", "gzip")])
        #expect(bombReply.status == 413)
        #expect(bombReply.text.hasPrefix("the body decodes to more than max_body_size"))
        // The connection stays usable after a refused body.
        let small = try await ingress.post(body: AuditBodies.eventList([AuditBodies.event(id: "fits")]))
        #expect(small.status == 200, "\(small.text)")
        try await ingress.stop()
    }

    @Test func healthReadinessAndMetricsAnswerOnTheWebhookPort() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 2)
        let ingress = try await IngressHarness(cluster: cluster)
        #expect(try await ingress.get("/healthz").status == 200)
        let ready = try await ingress.get("/readyz")
        #expect(ready.status == 200, "\(ready.text)")
        let reply = try await ingress.post("/k8s-audit/m", body: AuditBodies.eventList(AuditBodies.events(10)))
        #expect(reply.status == 200)
        let metrics = try await ingress.get("/metrics").text
        for line in [#"auditpipe_ingress_requests_total{status="200"} 1"#, "auditpipe_ingress_events_total 10",
                     "auditpipe_ingress_produce_duration_seconds_count 1", "auditpipe_ingress_inflight_bytes 0",
                     "auditpipe_ingress_received_bytes_total \(AuditBodies.eventList(AuditBodies.events(10)).count)"] {
            #expect(metrics.contains(line), "missing \(line)")
        }
        #expect(try await ingress.get("/k8s-audit").status == 404)
        try await ingress.stop()
    }

    @Test func gracefulShutdownLetsRequestsInFlightFinishAndDeliversTheirEvents() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 2)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.produceTimeout = ConfigDuration(.seconds(20))
        })
        try await ingress.warmUp()
        // A slow Kafka keeps the request in flight while the shutdown begins.
        try cluster.cluster.setBroker(1, latency: .seconds(2))
        let events = (0..<20).map { AuditBodies.event(id: "in-flight-\($0)") }
        async let inFlight = ingress.post("/k8s-audit/late", body: AuditBodies.eventList(events))
        try await Task.sleep(for: .milliseconds(500))
        let stopping = Task { try await ingress.stopServer() }
        let reply = try await inFlight
        #expect(reply.status == 200, "\(reply.text)")
        try await stopping.value
        try cluster.cluster.setBroker(1, latency: .zero)
        let messages = try await blocking {
            try cluster.read("k8s-audit.raw", limit: .seconds(30)) { $0.filter { $0.header("cluster") == "late" }.count >= 20 }
        }
        #expect(Set(messages.filter { $0.header("cluster") == "late" }.map(\.value)) == Set(events))
        // Stopped: no one listens any more.
        #expect(!ingress.acceptsConnections())
        try await ingress.shutDownClient()
    }
}
