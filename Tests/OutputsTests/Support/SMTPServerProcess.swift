import Foundation
import TestSupport

/// aiosmtpd (PyPI) running Resources/smtp_server.py on a free loopback port, for one test: it
/// requires STARTTLS, implicit TLS or neither, and AUTH when given a user; each mail it accepts
/// is summarised by Python's email parser (see the script).
final class SMTPServerProcess: @unchecked Sendable {
    enum Mode: String {
        case starttls, implicit, plain
    }

    let port: Int
    let maildir: TemporaryDirectory
    private let process: ChildProcess

    private init(port: Int, maildir: TemporaryDirectory, process: ChildProcess) {
        self.port = port
        self.maildir = maildir
        self.process = process
    }

    static let script = RepositoryPaths.packageRoot.appendingPathComponent("Tests/OutputsTests/Resources/smtp_server.py").path

    static func start(_ mode: Mode, user: String? = nil, password: String? = nil,
                      certificates: TestCertificates? = nil) async throws -> SMTPServerProcess {
        let python = try await RequiredExecutable.python(withModules: ["aiosmtpd"])
        let maildir = try TemporaryDirectory()
        let port = try FreePort.allocate()
        var arguments = [script, "--port", String(port), "--mode", mode.rawValue, "--maildir", maildir.path]
        if let certificates {
            arguments += ["--cert", certificates.serverCertFile, "--key", certificates.serverKeyFile]
        }
        if let user, let password { arguments += ["--user", user, "--password", password] }
        let process = try ChildProcess(python, arguments)
        let server = SMTPServerProcess(port: port, maildir: maildir, process: process)
        guard await process.waitForOutput(containing: "READY", within: .seconds(120)) else {
            await process.stop()
            throw ServerDidNotStart(output: process.stderr + process.stdout)
        }
        return server
    }

    /// The mails received so far, oldest first.
    func mails() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: maildir.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            try JSONDecoder().decode(ReceivedMail.self, from: Data(contentsOf: maildir.url.appendingPathComponent(name)))
        }
    }

    /// Waits (bounded) until `count` mails arrived and returns them.
    func mails(count: Int, within limit: Duration = .seconds(30)) async throws -> [ReceivedMail] {
        _ = await eventually(within: limit) { ((try? mails()) ?? []).count >= count }
        return try mails()
    }

    /// The bytes of the `index`th mail (1-based) as the server received them.
    func rawMail(_ index: Int) throws -> String {
        try String(contentsOfFile: maildir.file(String(format: "%04d.eml", index)), encoding: .utf8)
    }

    func stop() async {
        await process.stop()
    }

    var log: String { process.stderr + process.stdout }

    struct ServerDidNotStart: Error, CustomStringConvertible {
        let output: String
        var description: String { "the aiosmtpd test server did not start:\n\(output)" }
    }
}

/// One mail as the test server's Python email parser read it.
struct ReceivedMail: Decodable {
    struct Part: Decodable {
        let contentType: String
        let charset: String?
        let transferEncoding: String?
        let text: String
        let defects: [String]

        enum CodingKeys: String, CodingKey {
            case contentType = "content_type", charset, transferEncoding = "transfer_encoding", text, defects
        }

        /// The text with line ends as `\n`, whatever the transfer encoding left.
        var lines: [String] { text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n") }
    }

    let mailFrom: String
    let rcptTos: [String]
    let tls: Bool
    let authenticatedAs: String?
    let authMechanism: String?
    let subject: String
    let from: String
    let to: [String]
    let messageId: String
    let date: String
    let xAuditpipeRule: String
    let contentType: String
    let defects: [String]
    let parts: [Part]
    let longestLine: Int
    let bareLineFeeds: Int

    enum CodingKeys: String, CodingKey {
        case mailFrom = "mail_from", rcptTos = "rcpt_tos", tls, authenticatedAs = "authenticated_as", authMechanism = "auth_mechanism"
        case subject, from, to, messageId = "message_id", date, xAuditpipeRule = "x_auditpipe_rule", contentType = "content_type"
        case defects, parts, longestLine = "longest_line", bareLineFeeds = "bare_line_feeds"
    }
}
