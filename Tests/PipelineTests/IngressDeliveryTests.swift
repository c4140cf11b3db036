import Foundation
import Kafka
import Pipeline
import TestSupport
import Testing

/// Events posted to the ingress arrive in `k8s-audit.raw` as they were sent, keyed and with headers, read back
/// by independent consumers (a fresh consumer group, and kcat).
@Suite(.serialized) struct IngressDeliveryTests {
    /// `2026-11-26T10:00:00.123456789Z`: RFC 3339, UTC, nanoseconds.
    static var receivedAtPattern: Regex<Substring> { #/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/# }

    static func expectDelivered(_ events: [[UInt8]], in messages: [KafkaMessage], cluster: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(messages.count == events.count, sourceLocation: sourceLocation)
        // Byte-identical: the multiset of values is the multiset of posted events.
        let sent = Dictionary(grouping: events, by: { $0 }).mapValues(\.count)
        let received = Dictionary(grouping: messages.map(\.value), by: { $0 }).mapValues(\.count)
        #expect(sent == received, "values differ from the posted events", sourceLocation: sourceLocation)
        for message in messages {
            #expect(message.topic == "k8s-audit.raw", sourceLocation: sourceLocation)
            let key = message.key.map { String(decoding: $0, as: UTF8.self) }
            #expect(key == AuditBodies.expectedKey(cluster: cluster, event: message.value), sourceLocation: sourceLocation)
            #expect(message.header("cluster") == cluster, sourceLocation: sourceLocation)
            #expect(message.header("source-ip") == "127.0.0.1", sourceLocation: sourceLocation)
            #expect((message.header("received-at") ?? "").wholeMatch(of: receivedAtPattern) != nil,
                    "received-at \(message.header("received-at") ?? "missing")", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [1, 400, 5000])
    func eventListsArriveByteIdenticalKeyedAndWithHeaders(count: Int) async throws {
        let cluster = try TestCluster(brokers: 3, partitions: 24)
        let ingress = try await IngressHarness(cluster: cluster)
        let events = AuditBodies.events(count, seed: UInt64(count))
        let reply = try await ingress.post("/k8s-audit/prod-eu", body: AuditBodies.eventList(events))
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.text == "{\"accepted\":\(count),\"rejected\":0}\n")
        // 200 means acknowledged: the events are readable at once.
        let messages = try await blocking { try cluster.read("k8s-audit.raw", count: count, limit: .seconds(60)) }
        Self.expectDelivered(events, in: messages, cluster: "prod-eu")
        try await ingress.stop()
    }

    @Test func formattingInsideEventsIsKeptAndClusterScopedEventsAreKeyedWithTheClusterOnly() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings { $0.defaultCluster = "home" })
        // Whitespace, escapes and key order that a re-encoder would change.
        let spaced = Array(#"""
            {  "stageTimestamp" : "2026-11-26T10:00:00.5Z",
               "auditID":"a-\u00e9\"1", "kind":"Event", "stage":"ResponseComplete", "verb":"create",
               "objectRef": { "namespace" : "payments", "resource":"pods" }, "n": 1.50E+2 }
            """#.utf8)
        let clusterScoped = AuditBodies.event(id: "node-read", namespace: nil)
        let body = Array("{ \"items\" : [ \n".utf8) + spaced + Array(" ,\n".utf8) + clusterScoped
            + Array("\n], \"kind\":\"EventList\", \"apiVersion\":\"audit.k8s.io/v1\" }".utf8)
        let reply = try await ingress.post(body: body)
        #expect(reply.status == 200, "\(reply.text)")
        let messages = try await blocking { try cluster.read("k8s-audit.raw", count: 2) }
        Self.expectDelivered([spaced, clusterScoped], in: messages, cluster: "home")
        let keys = Set(messages.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } })
        #expect(keys == ["home/payments", "home/"])
        try await ingress.stop()
    }

    @Test func aSingleEventIsAcceptedLikeAListOfOne() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster)
        let event = AuditBodies.event(id: "single", namespace: "web")
        let reply = try await ingress.post("/k8s-audit/c1", body: event)
        #expect(reply.status == 200, "\(reply.text)")
        Self.expectDelivered([event], in: try await blocking { try cluster.read("k8s-audit.raw", count: 1) }, cluster: "c1")
        try await ingress.stop()
    }

    @Test func gzipBodiesAreDecoded() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 8)
        let ingress = try await IngressHarness(cluster: cluster)
        let events = AuditBodies.events(300, seed: 7)
        let compressed = try AuditBodies.gzip(AuditBodies.eventList(events))
        let reply = try await ingress.post("/k8s-audit/zipped", body: compressed, headers: [("Content-Encoding", "gzip")])
        #expect(reply.status == 200, "\(reply.text)")
        Self.expectDelivered(events, in: try await blocking { try cluster.read("k8s-audit.raw", count: 300) }, cluster: "zipped")
        // Two gzip members one after the other are one body (RFC 1952), as `cat a.gz b.gz` makes.
        let single = AuditBodies.event(id: "two-members")
        let list = AuditBodies.eventList([single])
        let halves = try AuditBodies.gzip(Array(list[..<10])) + AuditBodies.gzip(Array(list[10...]))
        let second = try await ingress.post("/k8s-audit/zipped", body: halves, headers: [("Content-Encoding", "gzip")])
        #expect(second.status == 200, "\(second.text)")
        try await ingress.stop()
    }

    @Test func kcatReadsWhatTheIngressWrote() async throws {
        let kcat = try #require(ChildProcess.which("kcat"), "kcat is installed by make test")
        let cluster = try TestCluster(brokers: 3, partitions: 6)
        let ingress = try await IngressHarness(cluster: cluster)
        let events = (0..<50).map { AuditBodies.event(id: "kcat-\($0)", namespace: "ns-\($0 % 5)") }
        let reply = try await ingress.post("/k8s-audit/kc", body: AuditBodies.eventList(events))
        #expect(reply.status == 200, "\(reply.text)")

        let bootstrap = cluster.bootstrapServers
        let lines = try await blocking {
            try CommandResult.run(kcat, ["-b", bootstrap, "-C", "-t", "k8s-audit.raw", "-o", "beginning", "-e", "-q",
                                         "-f", "%k\t%h\t%s\n", "-m", "30"])
                .stdoutText.split(separator: "\n").map(String.init)
        }
        #expect(lines.count == 50)
        var values: Set<String> = []
        for line in lines {
            let fields = line.split(separator: "\t", maxSplits: 2).map(String.init)
            guard fields.count == 3 else {
                Issue.record("kcat line '\(line)'")
                continue
            }
            #expect(fields[0] == AuditBodies.expectedKey(cluster: "kc", event: Array(fields[2].utf8)))
            #expect(fields[1].hasPrefix("cluster=kc,received-at=") && fields[1].hasSuffix(",source-ip=127.0.0.1"))
            values.insert(fields[2])
        }
        #expect(values == Set(events.map { String(decoding: $0, as: UTF8.self) }))
        try await ingress.stop()
    }

    @Test func itemsThatAreNotAuditEventsGoToRejectsAndTheRestIsPublished() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster)
        let good = (0..<3).map { AuditBodies.event(id: "good-\($0)") }
        let noAuditID = Array(#"{"kind":"Event","stage":"ResponseComplete","stageTimestamp":"2026-11-26T10:00:00Z"}"#.utf8)
        let text = Array(#""just a string""#.utf8)
        let pod = Array(#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}"#.utf8)
        let body = AuditBodies.eventList([good[0], noAuditID, good[1], text, pod, good[2]])
        let reply = try await ingress.post("/k8s-audit/mixed", body: body)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.text == #"""
            {"accepted":3,"rejected":3,"rejects":[{"item":1,"reason":"not an audit event: no auditID"},\#
            {"item":3,"reason":"not an audit event: a JSON string, not an object"},\#
            {"item":4,"reason":"not an audit event: kind is Pod, not Event"}]}

            """#)
        Self.expectDelivered(good, in: try await blocking { try cluster.read("k8s-audit.raw", count: 3) }, cluster: "mixed")
        let rejects = try await blocking { try cluster.read("k8s-audit.rejects", count: 3) }
        #expect(Set(rejects.map(\.value)) == Set([noAuditID, text, pod]))
        for reject in rejects {
            #expect(reject.key == nil)
            #expect(reject.header("stage") == "ingress")
            #expect(reject.header("cluster") == "mixed")
            #expect(reject.header("reason")?.hasPrefix("not an audit event: ") == true)
        }
        let metrics = try await ingress.get("/metrics").text
        #expect(metrics.contains("auditpipe_ingress_rejected_events_total 3"))
        #expect(metrics.contains("auditpipe_ingress_events_total 3"))
        try await ingress.stop()
    }

    @Test func anEventLargerThanTheEventLimitIsRejectedCutToTheLimit() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.maxEventSize = .init(2048)
        })
        let large = AuditBodies.event(id: "large", extra: "\"annotations\":{\"x\":\"\(String(repeating: "y", count: 4000))\"},")
        let small = AuditBodies.event(id: "small")
        let reply = try await ingress.post("/k8s-audit/big", body: AuditBodies.eventList([large, small]))
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.text.contains(#""accepted":1,"rejected":1"#))
        Self.expectDelivered([small], in: try await blocking { try cluster.read("k8s-audit.raw", count: 1) }, cluster: "big")
        let reject = try #require(try await blocking { try cluster.read("k8s-audit.rejects", count: 1) }.first)
        #expect(reject.value == Array(large.prefix(2048)))
        #expect(reject.header("original-size") == "\(large.count)")
        #expect(reject.header("reason")?.contains("more than max_event_size (2048)") == true)
        try await ingress.stop()
    }
}
