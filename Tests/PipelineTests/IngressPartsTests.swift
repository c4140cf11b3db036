import Foundation
@testable import Pipeline
import Settings
import TestSupport
import Testing

/// The ingress's parts on their own: gzip decoding, the tokens file, cluster names, the in-flight limit, settings.
@Suite struct IngressPartsTests {
    @Test func gzipDecodesMembersAndRefusesDamageAndExpansionPastTheLimit() throws {
        let text = Array(String(repeating: "audit events compress well. ", count: 2000).utf8)
        let compressed = try AuditBodies.gzip(text)
        let decode = { (bytes: [UInt8], limit: Int) throws -> [UInt8] in
            try bytes.withUnsafeBytes { raw in try GzipDecoder.decode(raw, limit: limit) }
        }
        #expect(try decode(compressed, 1 << 20) == text)
        #expect(try decode(compressed + compressed, 1 << 20) == text + text)
        #expect(try decode(compressed, text.count) == text)
        #expect(throws: GzipDecoder.Failure.tooLarge(limit: text.count - 1)) { try decode(compressed, text.count - 1) }
        #expect(throws: GzipDecoder.Failure.corrupt("the gzip data ends early (truncated body)")) {
            try decode(Array(compressed.dropLast(20)), 1 << 20)
        }
        #expect(throws: GzipDecoder.Failure.corrupt("data after the end of the gzip stream")) {
            try decode(compressed + Array("junk".utf8), 1 << 20)
        }
        #expect(throws: GzipDecoder.Failure.corrupt("not valid gzip data: incorrect header check")) {
            try decode(Array("{\"kind\":\"Event\"}".utf8), 1 << 20)
        }
    }

    @Test func aTokensFileWithMistakesIsRefusedWithItsLine() throws {
        #expect(try TokenFile.parse("# comment\n\nk1 c1\nk2\tc2 # note\n", path: "t") == ["k1": "c1", "k2": "c2"])
        let cases = [("x\n", "t:1: expected 'TOKEN CLUSTER', found 1 fields"),
                     ("# c\nk1 c1\nk1 c2\n", "t:3: this token is already listed on an earlier line"),
                     ("k1 bad/name\n", "t:1: 'bad/name' is not a cluster name: '/' is not allowed (letters, digits, . _ - : only)")]
        for (text, message) in cases {
            #expect(throws: (any Error).self) { try TokenFile.parse(text, path: "t") }
            do {
                _ = try TokenFile.parse(text, path: "t")
            } catch {
                #expect("\(error)" == message)
            }
        }
    }

    @Test func clusterNames() {
        #expect(ClusterName.problem("prod-eu.1:a_b") == nil)
        #expect(ClusterName.problem("") == "a cluster name cannot be empty")
        #expect(ClusterName.problem(String(repeating: "a", count: 254)) == "a cluster name has at most 253 characters")
        #expect(ClusterName.problem("a b")?.contains("' ' is not allowed") == true)
    }

    @Test func theInFlightLimitIsSharedAndReleasedByReservations() {
        let limiter = InFlightLimiter(limit: 100)
        let first = limiter.reserve(), second = limiter.reserve()
        #expect(first.grow(to: 60))
        #expect(!second.grow(to: 50))
        #expect(second.grow(to: 40))
        #expect(limiter.current == 100)
        first.shrink(to: 10)
        #expect(limiter.current == 50)
        first.release()
        second.release()
        #expect(limiter.current == 0)
        do {
            let dropped = limiter.reserve()
            #expect(dropped.grow(to: 70))
        }
        #expect(limiter.current == 0, "a reservation dropped without release still gives its bytes back")
    }

    @Test func ingressSettingsAreCheckedWhereTheyAreWritten() throws {
        func errors(_ yaml: String) -> [String] {
            do {
                _ = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: yaml, file: "a.yaml")
                return []
            } catch let errors as ConfigErrors {
                return errors.errors.map(\.description)
            } catch {
                return ["\(error)"]
            }
        }
        let config = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: """
            ingress:
              listen: 127.0.0.1:9443
              tls: {cert_file: s.pem, key_file: s.key, ca_file: ca.pem, client_auth: require}
              auth: {tokens_file: tokens, client_cert: true}
              default_cluster: home
              max_body_size: 8MiB
              max_inflight_bytes: 64MiB
              max_event_size: 512KiB
              produce_timeout: 3s
              retry_after: 1s
              idle_timeout: 30s
            """, file: "a.yaml")
        let ingress = config.ingress
        #expect(ingress.tls == IngressTLSSettings(certFile: "s.pem", keyFile: "s.key", caFile: "ca.pem", clientAuth: .require))
        #expect(ingress.auth == IngressAuthSettings(tokensFile: "tokens", clientCert: true))
        #expect(ingress.maxBodySize.bytes == 8 << 20 && ingress.maxInflightBytes.bytes == 64 << 20)
        #expect(ingress.maxEventSize.bytes == 512 << 10 && ingress.produceTimeout.duration == .seconds(3))
        #expect(errors("ingress:\n  max_body_size: 10MiB\n  max_inflight_bytes: 1MiB\n").first?
            .hasPrefix("a.yaml:3:23: ingress.max_inflight_bytes: max_inflight_bytes (1048576 bytes) must be at least") == true)
        #expect(errors("ingress:\n  tls: {cert_file: a, key_file: b, client_auth: require}\n")
            == ["a.yaml:2:49: ingress.tls.client_auth: client_auth require needs a ca_file"])
        #expect(errors("ingress:\n  tls: {cert_file: a, key_file: b, client_auth: sometimes}\n")
            == ["a.yaml:2:49: ingress.tls.client_auth: 'sometimes' is not none, optional or require"])
        #expect(errors("ingress:\n  auth: {client_cert: true}\n").first?.contains("auth.client_cert needs tls") == true)
        #expect(errors("ingress:\n  default_cluster: a/b\n").first?.contains("'a/b' is not a cluster name") == true)
    }

    @Test func theProducerExpiresMessagesWithTheProduceTimeoutUnlessConfiguredOtherwise() {
        var settings = IngressSettings()
        settings.produceTimeout = ConfigDuration(.milliseconds(2500))
        let defaults = IngressServer.producerConfiguration(KafkaSettings(brokers: "b:1"), settings)
        #expect(defaults["message.timeout.ms"] == "2500")
        #expect(defaults["queue.buffering.max.kbytes"] == "1048576")
        let configured = IngressServer.producerConfiguration(
            KafkaSettings(brokers: "b:1", settings: ["message.timeout.ms": "60000"]), settings)
        #expect(configured["message.timeout.ms"] == "60000")
    }
}
