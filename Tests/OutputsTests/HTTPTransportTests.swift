import Foundation
import Outputs
import Settings
import TestSupport
import Testing

/// The transport every HTTP output shares: requests as given, answers classified for the
/// delivery policy, timeouts, TLS with a private CA, mTLS, skip-verify only when asked.
@Suite struct HTTPTransportTests {
    /// Attempts that must fail use a short timeout: AsyncHTTPClient retries a refused connection or
    /// TLS handshake until then, and the outcome is the same.
    static let failingTimeout = Duration.seconds(3)

    static func transport(timeout: Duration = .seconds(30), tls: TLSSettings = TLSSettings()) throws -> HTTPTransport {
        try HTTPTransport(OutputTestSupport.settings(type: "http", timeout: timeout, tls: tls),
                          context: OutputTestSupport.context)
    }

    static func request(_ receiver: HTTPTestReceiver, _ path: String = "/hook",
                        method: HTTPTransport.Method = .post) -> HTTPTransport.Request {
        .json(EndpointURL(receiver.url(path))!, method: method, headers: [("X-Test", "1")], body: Array(#"{"a":1}"#.utf8))
    }

    /// Sends one request with a transport of its own (shut down after) and returns how it failed, nil if delivered.
    static func attempt(_ receiver: HTTPTestReceiver, _ path: String = "/hook", timeout: Duration = .seconds(30),
                        tls: TLSSettings = TLSSettings()) async throws -> DeliveryFailure? {
        let transport = try Self.transport(timeout: timeout, tls: tls)
        let failure = await OutputTestSupport.failure { try await transport.send(Self.request(receiver, path)) }
        await transport.shutdown()
        return failure
    }

    @Test func sendsTheRequestAsGivenAndReturnsA2xxResponse() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 202, body: "accepted"))
        let transport = try Self.transport()
        let response = try await transport.send(Self.request(receiver, "/a/b?x=1%202"))
        try await transport.send(Self.request(receiver, "/put", method: .put))
        await transport.shutdown()
        #expect(response.status == 202)
        #expect(String(decoding: response.body, as: UTF8.self) == "accepted")
        let requests = receiver.requests
        try #require(requests.count == 2)
        #expect(requests[0].method == "POST")
        #expect(requests[0].path == "/a/b")
        #expect(requests[0].queryItems == ["x": "1 2"])
        #expect(requests[0].header("content-type") == "application/json")
        #expect(requests[0].header("X-Test") == "1")
        #expect(requests[0].header("User-Agent") == "auditpipe")
        #expect(requests[0].bodyText == #"{"a":1}"#)
        #expect(requests[1].method == "PUT")
    }

    @Test(arguments: [
        (429, [("Retry-After", "7")], DeliveryFailure.Kind.transient(retryAfter: .seconds(7))),
        (429, [], .transient(retryAfter: nil)),
        (503, [("Retry-After", "2")], .transient(retryAfter: .seconds(2))),
        (500, [], .transient(retryAfter: nil)),
        (502, [], .transient(retryAfter: nil)),
        (400, [], .permanent),
        (401, [], .permanent),
        (403, [], .permanent),
        (404, [], .permanent),
        (413, [], .permanent),
        (301, [("Location", "http://127.0.0.1:1/elsewhere")], .permanent),
    ])
    func classifiesTheAnswer(status: Int, headers: [(String, String)], expected: DeliveryFailure.Kind) async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: status, headers: headers, body: "why: \(status)"))
        let failure = try await Self.attempt(receiver)
        let found = try #require(failure)
        #expect(found.kind == expected)
        #expect(found.reason.contains("HTTP \(status)"))
        #expect(found.reason.contains("why: \(status)"), "the service's explanation is quoted")
    }

    @Test func honoursARetryAfterDate() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let start = ContinuousClock.now
        let date = formatter.string(from: Date().addingTimeInterval(120))
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 429, headers: [("Retry-After", date)]))
        let failure = try await Self.attempt(receiver)
        // The wait counts from when the answer was read: less the time the attempt took (long on a loaded machine).
        let elapsed = ContinuousClock.now - start
        guard case .transient(let wait?) = try #require(failure).kind else {
            Issue.record("expected a transient failure with a wait, got \(String(describing: failure))")
            return
        }
        #expect(wait > .seconds(118) - elapsed && wait <= .seconds(121))
    }

    @Test func parsesRetryAfterForms() {
        let now = Date(timeIntervalSince1970: 784_111_767)  // Sun, 06 Nov 1994 08:49:27 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero, "a date in the past means now")
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse("-5", now: now) == nil)
    }

    @Test func failuresNameTheServiceButNotTheSecretInItsURL() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 404, body: "no_service"))
        let failure = try await Self.attempt(receiver, "/services/T0/B0/SECRET")
        let reason = try #require(failure).reason
        #expect(reason.contains("POST http://127.0.0.1:\(receiver.port)"))
        #expect(!reason.contains("SECRET"))
    }

    @Test func aLongBodyIsQuotedOnlyInPart() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 400, body: String(repeating: "x", count: 5000)))
        let failure = try await Self.attempt(receiver)
        let reason = try #require(failure).reason
        #expect(reason.count < HTTPResponseClassification.quotedBodyLength + 100)
        #expect(reason.hasSuffix("…"))
    }

    @Test func aServiceTooSlowToAnswerIsATransientTimeout() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 200, delay: .seconds(5)))
        let found = try #require(try await Self.attempt(receiver, timeout: .milliseconds(300)))
        #expect(found.kind == .transient(retryAfter: nil))
        #expect(found.reason.contains("no answer within"))
    }

    @Test func aServiceThatIsDownIsATransientFailure() async throws {
        let receiver = try await HTTPTestReceiver()
        await receiver.stop()
        let failure = try #require(try await Self.attempt(receiver, timeout: Self.failingTimeout))
        #expect(failure.kind == .transient(retryAfter: nil))
        #expect(failure.reason.contains("POST http://127.0.0.1:\(receiver.port)"))
    }

    @Test func aRequestTheValidatorRefusesIsAPermanentFailureWithItsReason() async throws {
        let receiver = try await HTTPTestReceiver(validator: { request in
            var check = RequestCheck(request)
            check.route("POST", "/expected")
            return check.verdict
        })
        let failure = try await Self.attempt(receiver, "/wrong")
        let found = try #require(failure)
        #expect(found.kind == .permanent)
        #expect(found.reason.contains("path /wrong, expected /expected"))
        #expect(receiver.rejections.count == 1)
    }

    @Test func trustsAServerSignedByTheConfiguredPrivateCA() async throws {
        let certificates = try TestCertificates()
        let receiver = try await HTTPTestReceiver(tls: .init(certificates))
        var tls = TLSSettings()
        tls.caFile = certificates.caFile
        #expect(try await Self.attempt(receiver, tls: tls) == nil)
        #expect(receiver.requests.count == 1)
    }

    @Test func refusesAnUntrustedServerUnlessToldToSkipVerification() async throws {
        let certificates = try TestCertificates()
        let receiver = try await HTTPTestReceiver(tls: .init(certificates))
        #expect(try await Self.attempt(receiver, timeout: Self.failingTimeout)?.kind == .transient(retryAfter: nil),
                "not signed by a CA the system trusts")
        let otherAuthority = try TestCertificates()
        defer { withExtendedLifetime(otherAuthority) {} }
        var wrongCA = TLSSettings()
        wrongCA.caFile = otherAuthority.caFile
        #expect(try await Self.attempt(receiver, timeout: Self.failingTimeout, tls: wrongCA)?.kind == .transient(retryAfter: nil),
                "signed by another CA")
        #expect(receiver.requests.isEmpty)

        var skip = TLSSettings()
        skip.insecureSkipVerify = true
        #expect(try await Self.attempt(receiver, tls: skip) == nil)
        #expect(receiver.requests.count == 1)
    }

    @Test func presentsTheClientCertificateAServerRequires() async throws {
        let certificates = try TestCertificates()
        let receiver = try await HTTPTestReceiver(tls: .init(certificates, requireClientCertificate: true))
        var anonymous = TLSSettings()
        anonymous.caFile = certificates.caFile
        #expect(try await Self.attempt(receiver, timeout: Self.failingTimeout, tls: anonymous)?.kind == .transient(retryAfter: nil))
        #expect(receiver.requests.isEmpty)

        var mutual = anonymous
        mutual.certFile = certificates.clientCertFile
        mutual.keyFile = certificates.clientKeyFile
        #expect(try await Self.attempt(receiver, tls: mutual) == nil)
        #expect(receiver.requests.count == 1)
    }

    @Test func sendsABatchConcurrently() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 200, delay: .milliseconds(500)))
        let transport = try HTTPTransport(OutputTestSupport.settings(type: "http"), context: OutputTestSupport.context,
                                          connections: 8)
        try await transport.sendConcurrently((0..<8).map { _ in Self.request(receiver) })
        await transport.shutdown()
        #expect(receiver.requestCount == 8)
        #expect(receiver.maxInFlight > 1, "requests wait for their answers side by side")
    }

    @Test func aBatchFailsTransientlyIfAnyRequestMightSucceedOnARetry() async throws {
        let receiver = try await HTTPTestReceiver()
        receiver.script(ScriptedReply(status: 429, headers: [("Retry-After", "2")]), ScriptedReply(status: 400),
                        ScriptedReply(status: 503, headers: [("Retry-After", "5")]))
        let transport = try Self.transport()
        let mixed = await OutputTestSupport.failure { try await transport.sendConcurrently((0..<6).map { _ in Self.request(receiver) }) }
        #expect(mixed?.kind == .transient(retryAfter: .seconds(5)), "the longest wait asked for")
        #expect(mixed?.reason.hasPrefix("3 of 6 requests failed") == true)

        receiver.script(ScriptedReply(status: 400), ScriptedReply(status: 422))
        let refused = await OutputTestSupport.failure { try await transport.sendConcurrently((0..<4).map { _ in Self.request(receiver) }) }
        #expect(refused?.kind == .permanent)
        #expect(await OutputTestSupport.failure { try await transport.sendConcurrently((0..<4).map { _ in Self.request(receiver) }) } == nil)
        await transport.shutdown()
        #expect(receiver.requestCount == 14)
    }

    @Test func aTransportDroppedWithoutShutdownStillClosesItsConnections() async throws {
        let receiver = try await HTTPTestReceiver()
        do {
            let transport = try Self.transport()
            try await transport.send(Self.request(receiver))
            #expect(receiver.openConnections == 1, "kept alive for the next request")
        }
        #expect(await eventually(within: .seconds(30)) { receiver.openConnections == 0 })
    }

    @Test func unreadableCertificatesFailAtStartNamingTheSetting() throws {
        var tls = TLSSettings()
        tls.caFile = "/nonexistent/ca.pem"
        #expect { try Self.transport(tls: tls) } throws: { error in
            "\(error)".contains("output 'test': tls.ca_file '/nonexistent/ca.pem'")
        }
        let directory = try TemporaryDirectory()
        var notPEM = TLSSettings()
        notPEM.certFile = try directory.write("cert.pem", "not a certificate")
        notPEM.keyFile = try directory.write("key.pem", "not a key")
        #expect { try Self.transport(tls: notPEM) } throws: { error in "\(error)".contains("tls.cert_file") }
    }

    @Test func endpointURLsAreCheckedWhenTheConfigurationIsRead() {
        #expect(EndpointURL("https://hooks.slack.com/services/T/B/X")?.origin == "https://hooks.slack.com")
        #expect(EndpointURL("http://127.0.0.1:8080/x?y=1")?.origin == "http://127.0.0.1:8080")
        #expect(EndpointURL("ftp://example.com/") == nil)
        #expect(EndpointURL("hooks.slack.com/services") == nil)
        #expect(EndpointURL("https://api.datadoghq.eu/ignored")?.replacingPath("/api/v1/events").text
                == "https://api.datadoghq.eu/api/v1/events")
    }
}
