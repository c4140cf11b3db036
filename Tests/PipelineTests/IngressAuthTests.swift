import Foundation
import Kafka
import NIOSSL
import Pipeline
import Settings
import TestSupport
import Testing

extension TestCertificates {
    /// A client that trusts this CA and presents this CA's client certificate, or none.
    func clientTLS(presentingCertificate: Bool) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        if presentingCertificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
        }
        return tls
    }

    /// The ingress's TLS settings: this CA's server certificate, and this CA for client certificates.
    func ingressTLS(clientAuth: IngressTLSSettings.ClientAuth) -> IngressTLSSettings {
        IngressTLSSettings(certFile: serverCertFile, keyFile: serverKeyFile, caFile: caFile, clientAuth: clientAuth)
    }
}

/// Auth: bearer tokens from a file that is re-read when it changes, client certificates' CN over mTLS,
/// 401 without a valid credential and 403 for another cluster's path.
@Suite(.serialized) struct IngressAuthTests {
    @Test func bearerTokensNameTheClusterAndTheFileIsReloaded() async throws {
        let directory = try TemporaryDirectory()
        let tokens = try directory.write("tokens", """
            # token                cluster
            token-prod-1234567890  prod-eu
            token-stage-987654321  staging   # trailing comment

            """)
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try await IngressHarness(cluster: cluster, settings: IngressHarness.settings {
            $0.auth = IngressAuthSettings(tokensFile: tokens)
        })
        let event = AuditBodies.eventList([AuditBodies.event(id: "t1")])
        func post(_ path: String, token: String?) async throws -> IngressHarness.Reply {
            try await ingress.post(path, body: event, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
        }

        let anonymous = try await post("/k8s-audit", token: nil)
        #expect(anonymous.status == 401)
        #expect(anonymous.headers.first(name: "WWW-Authenticate") == "Bearer")
        #expect(anonymous.text.contains("no bearer token"))
        #expect(try await post("/k8s-audit", token: "guess").status == 401)
        let basic = try await ingress.post(body: event, headers: [("Authorization", "Basic dXNlcjpwYXNz")])
        #expect(basic.status == 401)
        #expect(basic.text.contains("not 'Bearer <token>'"))

        #expect(try await post("/k8s-audit", token: "token-prod-1234567890").status == 200)
        #expect(try await post("/k8s-audit/prod-eu", token: "token-prod-1234567890").status == 200)
        let forbidden = try await post("/k8s-audit/staging", token: "token-prod-1234567890")
        #expect(forbidden.status == 403)
        #expect(forbidden.text == "forbidden: the credential is for cluster 'prod-eu', not 'staging'\n")
        let messages = try await blocking { try cluster.read("k8s-audit.raw", count: 2) }
        #expect(messages.count == 2 && messages.allSatisfy { $0.header("cluster") == "prod-eu" })

        // Revoke one token, add another: the file is re-read without a restart.
        try """
            token-stage-987654321  staging
            token-prod-new-000000  prod-eu
            """.write(toFile: tokens, atomically: true, encoding: .utf8)
        let reloaded = try await eventually(within: .seconds(10), every: .milliseconds(200)) {
            try await post("/k8s-audit", token: "token-prod-1234567890").status == 401
        }
        #expect(reloaded, "the revoked token still works")
        #expect(try await post("/k8s-audit", token: "token-prod-new-000000").status == 200)

        // A broken file keeps the last good tokens, and says so in the metrics.
        try "only-one-field\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        let reported = try await eventually(within: .seconds(10), every: .milliseconds(200)) {
            try await ingress.get("/metrics").text.contains("auditpipe_ingress_token_reload_failures_total 1")
        }
        #expect(reported)
        #expect(try await post("/k8s-audit", token: "token-prod-new-000000").status == 200)
        try await ingress.stop()
    }

    @Test func clientCertificatesNameTheClusterOverMutualTLS() async throws {
        let certificates = try await blocking { try TestCertificates(clientCommonName: "prod-eu") }
        // The same CN, signed by a CA the ingress does not trust.
        let rogue = try await blocking { try TestCertificates(clientCommonName: "prod-eu") }
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let settings = IngressHarness.settings {
            $0.tls = certificates.ingressTLS(clientAuth: .require)
            $0.auth = IngressAuthSettings(clientCert: true)
        }
        let event = AuditBodies.eventList([AuditBodies.event(id: "mtls")])

        let prod = try await IngressHarness(cluster: cluster, settings: settings,
                                            clientTLS: certificates.clientTLS(presentingCertificate: true))
        let accepted = try await prod.post(body: event)
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(try await prod.post("/k8s-audit/prod-eu", body: event).status == 200)
        let forbidden = try await prod.post("/k8s-audit/staging", body: event)
        #expect(forbidden.status == 403)
        #expect(forbidden.text == "forbidden: the credential is for cluster 'prod-eu', not 'staging'\n")
        let messages = try await blocking { try cluster.read("k8s-audit.raw", count: 2) }
        #expect(messages.count == 2 && messages.allSatisfy { $0.header("cluster") == "prod-eu" })
        try await prod.stop()

        // Without a certificate, or with one from another CA, the TLS handshake itself fails.
        var rogueClient = try rogue.clientTLS(presentingCertificate: true)
        rogueClient.trustRoots = .file(certificates.caFile)
        for (name, client) in [("none", try certificates.clientTLS(presentingCertificate: false)), ("rogue", rogueClient)] {
            let ingress = try await IngressHarness(cluster: cluster, settings: settings, clientTLS: client)
            await #expect(throws: (any Error).self, "client certificate: \(name)") {
                _ = try await ingress.post(body: event)
            }
            try await ingress.stop()
        }
    }

    @Test func optionalClientCertificatesLetTokensIn() async throws {
        let certificates = try await blocking { try TestCertificates(clientCommonName: "edge") }
        let directory = try TemporaryDirectory()
        let tokens = try directory.write("tokens", "token-core-abcdefghij core\n")
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let settings = IngressHarness.settings {
            $0.tls = certificates.ingressTLS(clientAuth: .optional)
            $0.auth = IngressAuthSettings(tokensFile: tokens, clientCert: true)
        }
        let event = AuditBodies.eventList([AuditBodies.event(id: "opt")])
        let noCertificate = try await IngressHarness(cluster: cluster, settings: settings,
                                                     clientTLS: certificates.clientTLS(presentingCertificate: false))
        let anonymous = try await noCertificate.post(body: event)
        #expect(anonymous.status == 401)
        #expect(anonymous.text.contains("send a bearer token or a client certificate"))
        let token = try await noCertificate.post(body: event, headers: [("Authorization", "Bearer token-core-abcdefghij")])
        #expect(token.status == 200)
        try await noCertificate.stop()

        let withCertificate = try await IngressHarness(cluster: cluster, settings: settings,
                                                       clientTLS: certificates.clientTLS(presentingCertificate: true))
        #expect(try await withCertificate.post("/k8s-audit/edge", body: event).status == 200)
        let messages = try await blocking { try cluster.read("k8s-audit.raw", count: 2) }
        #expect(Set(messages.compactMap { $0.header("cluster") }) == ["core", "edge"])
        try await withCertificate.stop()
    }
}
