import Foundation
import Outputs
import TestSupport
import Testing

/// Falco's http output and falcosidekick's webhook: the alert's JSON as the engine published it,
/// with the method, headers and TLS the receiver asks for.
@Suite struct ForwardingOutputTests {
    @Test func httpPostsTheAlertJSONUnchangedAsFalcoDoes() async throws {
        let service = ServiceUnderTest.all.first { $0.type == "http" }!
        let (receiver, output) = try await OutputHarness.start(service, extra: "")
        let alert = try AlertFixtures.exec(customFields: ["environment": "production-eu"])
        let request = try await OutputHarness.deliverOne(alert, to: output, at: receiver)
        await output.shutdown()
        #expect(request.body == alert.json)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("User-Agent") == "falcosecurity/falco")
    }

    @Test func httpSendsHeadersUserAgentAndTheTextFormat() async throws {
        let receiver = try await HTTPTestReceiver()
        let output = try OutputHarness.definition("""
            name: siem
            type: http
            url: \(receiver.url("/ingest?source=auditpipe"))
            format: text
            user_agent: auditpipe/1
            headers: {Authorization: Bearer s3cr3t, X-Scope: security}
            """).makeOutput(context: OutputTestSupport.context)
        let alert = try AlertFixtures.exec()
        let request = try await OutputHarness.deliverOne(alert, to: output, at: receiver)
        await output.shutdown()
        #expect(request.path == "/ingest" && request.queryItems == ["source": "auditpipe"])
        #expect(request.bodyText == alert.alert.output)
        #expect(request.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(request.header("User-Agent") == "auditpipe/1")
        #expect(request.header("Authorization") == "Bearer s3cr3t")
        #expect(request.header("X-Scope") == "security")
    }

    @Test func webhookUsesItsMethodHeadersAndClientCertificate() async throws {
        let certificates = try TestCertificates()
        let receiver = try await HTTPTestReceiver(tls: .init(certificates, requireClientCertificate: true),
                                                  validator: ServiceContracts.falcoAlert(method: "PUT", path: "/alerts"))
        func yaml(timeout: String, tls: String) -> String {
            """
            name: soar
            type: webhook
            url: \(receiver.url("/alerts"))
            method: put
            timeout: \(timeout)
            headers: {X-Api-Key: k3y}
            tls: {\(tls)}
            """
        }
        // Refused handshakes are retried by the client until the timeout: a short one, the outcome is the same.
        let anonymous = try OutputHarness.definition(yaml(timeout: "3s", tls: "ca_file: \(certificates.caFile)"))
            .makeOutput(context: OutputTestSupport.context)
        let refused = await OutputTestSupport.failure { try await anonymous.deliver([try AlertFixtures.exec()]) }
        await anonymous.shutdown()
        #expect(refused?.kind == .transient(retryAfter: nil), "the receiver requires a client certificate")

        let output = try OutputHarness.definition(yaml(
            timeout: "30s",
            tls: "ca_file: \(certificates.caFile), cert_file: \(certificates.clientCertFile), key_file: \(certificates.clientKeyFile)"))
            .makeOutput(context: OutputTestSupport.context)
        let alert = try AlertFixtures.exec()
        let request = try await OutputHarness.deliverOne(alert, to: output, at: receiver)
        await output.shutdown()
        #expect(receiver.rejections.map(\.reason) == [])
        #expect(request.method == "PUT")
        #expect(request.header("X-Api-Key") == "k3y")
        #expect(request.body == alert.json)
    }

    @Test func webhookRefusesAMethodOtherThanPostOrPut() {
        #expect { try OutputHarness.definition("name: w\ntype: webhook\nurl: https://x.example.com\nmethod: DELETE") }
            throws: { "\($0)".contains("outputs.yaml:4:") && "\($0)".contains("POST or PUT") }
    }

    @Test func headersMustBeValidHTTP() {
        #expect { try OutputHarness.definition("name: w\ntype: http\nurl: https://x.example.com\nheaders: {\"Bad Name\": v}") }
            throws: { "\($0)".contains("outputs.yaml:4:") && "\($0)".contains("invalid header") }
    }
}
