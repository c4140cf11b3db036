import Foundation
import NIOCore
import NIOPosix
@testable import Outputs
import Rules
import TestSupport
import Testing

/// The SMTP output against aiosmtpd; each received mail is checked as Python's email package
/// parses it.
@Suite struct SMTPOutputTests {
    static func output(_ server: SMTPServerProcess, _ settings: String,
                       to recipients: String = "[secops@example.org, \"Oncall <oncall@example.org>\"]") throws -> SMTPOutput {
        try #require(try OutputFixtures.make("""
            name: mail
            type: smtp
            host: 127.0.0.1
            port: \(server.port)
            from: "auditpipe alerts <alerts@auditpipe.example>"
            to: \(recipients)
            ehlo_name: sink.auditpipe.example
            timeout: 60s

            """ + settings) as? SMTPOutput)
    }

    /// An output line with what breaks naive clients: a lone `.` line (ends DATA unless
    /// stuffed), a line starting with `..`, HTML to escape, non-ASCII text, a long line.
    static let trickyOutput = "Critical shell in web/api-1 by <alice> & \"bob\" — ünïcödé\n.\n..two dots\n" + String(repeating: "x", count: 200)

    /// The value on a `name:   value` line of the text part.
    static func value(of name: String, in lines: [String]) -> String? {
        lines.first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    @Test func aMailPerAlertInTextAndHTMLOverSTARTTLSWithAuth() async throws {
        let certificates = try TestCertificates()
        let server = try await SMTPServerProcess.start(.starttls, user: "sink", password: "p4ss", certificates: certificates)
        let output = try Self.output(server, "tls_mode: starttls\nuser: sink\npassword: p4ss\ntls: {ca_file: \(certificates.caFile)}\n")
        let alert = OutputAlerts.alert(rule: "Terminal shell in container", priority: .critical, output: Self.trickyOutput,
                                       customFields: ["env": "prod", "team": "platform"])
        try await output.deliver([alert])

        let mail = try #require(try await server.mails(count: 1).first)
        #expect(mail.tls)
        #expect(mail.authenticatedAs == "sink")
        #expect(mail.authMechanism == "PLAIN")
        #expect(mail.mailFrom == "alerts@auditpipe.example")
        #expect(mail.rcptTos == ["secops@example.org", "oncall@example.org"])
        #expect(mail.from == "auditpipe alerts <alerts@auditpipe.example>")
        #expect(mail.to == ["secops@example.org", "Oncall <oncall@example.org>"])
        // Line breaks in the subject became spaces; the non-ASCII text survived RFC 2047.
        #expect(mail.subject == "[Critical] " + Self.trickyOutput.replacingOccurrences(of: "\n", with: " "))
        #expect(mail.messageId == "<\(alert.alert.id)@auditpipe.example>")
        #expect(mail.xAuditpipeRule == "Terminal shell in container")
        #expect(mail.contentType == "multipart/alternative")
        #expect(mail.defects.isEmpty)
        #expect(mail.longestLine <= 78)
        #expect(mail.bareLineFeeds == 0)
        #expect(mail.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(mail.parts.allSatisfy { $0.defects.isEmpty && $0.charset == "utf-8" })

        let text = try #require(mail.parts.first).lines
        #expect(Array(text.prefix(4)) == Self.trickyOutput.components(separatedBy: "\n"))
        #expect(Self.value(of: "env", in: text) == "prod")
        #expect(Self.value(of: "team", in: text) == "platform")
        #expect(Self.value(of: "Priority", in: text) == "Critical")
        #expect(Self.value(of: "ka.target.name", in: text) == "api-0")
        let html = try #require(mail.parts.last).text
        #expect(html.contains("by &lt;alice&gt; &amp; &quot;bob&quot; — ünïcödé"))
        #expect(html.contains("<th style=\"text-align:left;padding:2px 8px\">env</th><td style=\"padding:2px 8px;font-family:monospace\">prod</td>"))
    }

    @Test func implicitTLSAndAuthLoginAndTextOnly() async throws {
        let certificates = try TestCertificates()
        let server = try await SMTPServerProcess.start(.implicit, user: "sink", password: "p4ss", certificates: certificates)
        let output = try Self.output(server, """
            tls_mode: implicit
            user: sink
            password: p4ss
            auth_mechanism: login
            format: text
            subject_template: "auditpipe: <rule> on <cluster>"
            tls: {ca_file: \(certificates.caFile)}
            """)
        try await output.deliver([OutputAlerts.alert(customFields: ["env": "staging"])])
        let mail = try #require(try await server.mails(count: 1).first)
        #expect(mail.tls)
        #expect(mail.authMechanism == "LOGIN")
        #expect(mail.subject == "auditpipe: Pod exec on prod-eu")
        #expect(mail.contentType == "text/plain")
        #expect(mail.parts.count == 1)
        #expect(Self.value(of: "env", in: mail.parts[0].lines) == "staging")
    }

    @Test func plainSMTPWithoutTLSOrAuth() async throws {
        let server = try await SMTPServerProcess.start(.plain)
        let output = try Self.output(server, "tls_mode: none\nformat: html\n")
        try await output.deliver([OutputAlerts.alert()])
        let mail = try #require(try await server.mails(count: 1).first)
        #expect(!mail.tls)
        #expect(mail.contentType == "text/html")
        // falcosidekick's subject: the priority, then the output line.
        #expect(mail.subject == "[Notice] Pod exec by alice in web/api-0 (cluster=prod-eu)")
    }

    @Test func aWrongPasswordIsPermanent() async throws {
        let certificates = try TestCertificates()
        let server = try await SMTPServerProcess.start(.starttls, user: "sink", password: "p4ss", certificates: certificates)
        let output = try Self.output(server, "user: sink\npassword: wrong\ntls: {ca_file: \(certificates.caFile)}\n")
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("535"))
        #expect(failure.reason.contains("AUTH PLAIN as sink"))
        #expect(!failure.reason.contains("wrong"))
        #expect(try server.mails().isEmpty)
    }

    /// A 4xx for one recipient abandons the transaction: nobody gets the mail now, everybody
    /// gets it once on the retry.
    @Test func aGreylistedRecipientIsTransientAndNobodyIsMailedTwice() async throws {
        let server = try await SMTPServerProcess.start(.plain)
        let output = try Self.output(server, "tls_mode: none\n", to: "[secops@example.org, greylist@example.org]")
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("451 4.7.1 Greylisted"))
        #expect(failure.reason.contains("RCPT TO:<greylist@example.org>"))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try server.mails().isEmpty)
    }

    @Test func anUnknownRecipientIsPermanent() async throws {
        let server = try await SMTPServerProcess.start(.plain)
        let output = try Self.output(server, "tls_mode: none\n", to: "unknown@example.org")
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("550 5.1.1"))
    }

    @Test func aServerWithoutSTARTTLSIsRefusedNotDowngraded() async throws {
        let server = try await SMTPServerProcess.start(.plain)
        let output = try Self.output(server, "tls_mode: starttls\n")
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("does not offer STARTTLS"))
        #expect(try server.mails().isEmpty)
    }

    @Test func aCertificateFromAnotherCAIsRefused() async throws {
        let certificates = try TestCertificates()
        let server = try await SMTPServerProcess.start(.starttls, certificates: certificates)
        let otherCA = try TestCertificates()
        let output = try Self.output(server, "tls: {ca_file: \(otherCA.caFile)}\n")
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("TLS"))
        #expect(try server.mails().isEmpty)
    }

    @Test func nothingListeningIsTransient() async throws {
        let port = try FreePort.allocate()
        let output = try #require(try OutputFixtures.make(
            "{name: m, type: smtp, host: 127.0.0.1, port: \(port), tls_mode: none, from: a@b.example, to: c@d.example}") as? SMTPOutput)
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("cannot connect to SMTP server 127.0.0.1:\(port)"))
    }

    /// A server that accepts the connection and never says a word: the attempt ends at the
    /// output's timeout, as a transient failure.
    @Test func aSilentServerTimesOut() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        let output = try #require(try OutputFixtures.make(
            "{name: m, type: smtp, host: 127.0.0.1, port: \(port), tls_mode: none, from: a@b.example, to: c@d.example, timeout: 1s}") as? SMTPOutput)
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("no answer within"))
    }
}

/// Mail composition and the SMTP wire format, without a server.
@Suite struct SMTPFormatTests {
    @Test func dotStuffingAndLineEnds() {
        let encoded = SMTPData.encode(Array("a\n.\n..b\r\nc\r.d\r\n.".utf8))
        #expect(String(buffer: encoded) == "a\r\n..\r\n...b\r\nc\r\n..d\r\n..\r\n.\r\n")
        #expect(String(buffer: SMTPData.encode(Array("x\r\n".utf8))) == "x\r\n.\r\n")
        #expect(String(buffer: SMTPData.encode([])) == ".\r\n")
    }

    @Test func quotedPrintable() {
        #expect(QuotedPrintable.encode("a=b ü\ttrailing \nnext") == "a=3Db =C3=BC\ttrailing=20\r\nnext")
        let long = QuotedPrintable.encode(String(repeating: "é", count: 40))
        #expect(long.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 })
        #expect(long.replacingOccurrences(of: "=\r\n", with: "") == String(repeating: "=C3=A9", count: 40))
        #expect(QuotedPrintable.encode(".\n.x") == ".\r\n.x")
    }

    @Test func headersStayOneLineOfASCII() {
        var headers = MailHeaders()
        headers.addUnstructured("Subject", "short\r\nBcc: victim@example.org")
        #expect(headers.text == "Subject: short  Bcc: victim@example.org\r\n")
        var encoded = MailHeaders()
        encoded.addUnstructured("Subject", String(repeating: "ä", count: 60))
        let lines = encoded.text.components(separatedBy: "\r\n").dropLast()
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.count <= 76 && $0.unicodeScalars.allSatisfy { $0.value < 0x7f } })
        #expect(MailHeaders.date(Date(timeIntervalSince1970: 1_795_687_200)) == "Thu, 26 Nov 2026 10:00:00 +0000")
    }

    @Test func addresses() {
        #expect(MailAddress(parsing: "Sec Ops <secops@example.org>") == MailAddress(displayName: "Sec Ops", address: "secops@example.org"))
        #expect(MailAddress(parsing: "\"Ops, EU\" <ops@example.org>")?.headerValue == "\"Ops, EU\" <ops@example.org>")
        #expect(MailAddress(parsing: "plain@example.org")?.headerValue == "plain@example.org")
        #expect(MailAddress(parsing: "Jürgen <j@example.org>")?.headerValue == "=?utf-8?B?SsO8cmdlbg==?= <j@example.org>")
        #expect(MailAddress(parsing: "no-at-sign") == nil)
        #expect(MailAddress(parsing: "a b@example.org") == nil)
        #expect(MailAddress(parsing: "x@example.org>\r\nRCPT TO:<y@example.org") == nil)
    }

    @Test func repliesAndExtensions() {
        let ehlo = SMTPReply(code: 250, lines: ["mail.example.org", "SIZE 1000", "AUTH=LOGIN PLAIN", "STARTTLS"])
        let extensions = SMTPExtensions(ehloReply: ehlo)
        #expect(extensions.supports("STARTTLS"))
        #expect(extensions.authMechanisms == ["LOGIN", "PLAIN"])
        #expect(extensions.maximumSize == 1000)
        #expect(SMTPReply(code: 421, lines: ["closing"]).failure(after: "DATA", server: "s").kind.isTransient)
        #expect(SMTPReply(code: 554, lines: ["no"]).failure(after: "DATA", server: "s").kind == .permanent)
    }

    @Test func configuration() throws {
        let base = "name: m\ntype: smtp\nhost: smtp.example.org\nfrom: a@example.org\n"
        let configuration = try #require(try OutputFixtures.definition(base + "to: 'x@example.org, y@example.org'\n").configuration as? SMTPOutput.Configuration)
        #expect(configuration.to.map(\.address) == ["x@example.org", "y@example.org"])
        #expect(configuration.tlsMode == .starttls)
        #expect(configuration.port == nil)
        #expect(configuration.subjectTemplate.description == "[<priority>] <output>")
        #expect(configuration.format == .both)

        #expect(OutputFixtures.errors(base + "to: x@example.org\ntls_mode: none\nuser: u\npassword: p\n")
            == ["outputs.yaml:7:7: user: AUTH over tls_mode: none sends the password in clear text; use starttls or implicit, or set allow_insecure_auth: true"])
        #expect(OutputFixtures.errors(base + "to: []\n") == ["outputs.yaml:5:5: to: at least one recipient is needed"])
        #expect(OutputFixtures.errors(base + "to: [x@example.org, 'bad address']\n") == ["outputs.yaml:5:5: to: 'bad address' is not a mail address"])
        #expect(OutputFixtures.errors("name: m\ntype: smtp\nhost: h\nfrom: nobody\nto: x@example.org\n")
            == ["outputs.yaml:4:7: from: 'nobody' is not a mail address (alerts@example.com or Name <alerts@example.com>)"])
        #expect(OutputFixtures.errors(base + "to: x@example.org\ntls_mode: ssl\n").first?.hasPrefix("outputs.yaml:6:11: tls_mode:") == true)
        #expect(OutputFixtures.errors(base + "to: x@example.org\nsubject_template: '<severity>'\n").first?.contains("unknown placeholder <severity>") == true)
    }
}
