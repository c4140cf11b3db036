import Foundation
import NIOCore

/// How the connection to the mail server is secured.
enum SMTPSecurity: String, Sendable, CaseIterable, Decodable {
    /// Plain TCP, then STARTTLS before anything else (submission, port 587). TLS is required:
    /// a server that does not offer STARTTLS fails the delivery, it is never downgraded.
    case starttls
    /// TLS from the first byte (submissions, port 465).
    case implicit
    /// No TLS at all (a relay on the same host or network).
    case none

    var defaultPort: Int {
        switch self {
        case .starttls: return 587
        case .implicit: return 465
        case .none: return 25
        }
    }
}

enum SMTPAuthMechanism: String, Sendable, CaseIterable, Decodable {
    /// PLAIN when the server offers it, else LOGIN.
    case auto
    case plain
    case login
}

struct SMTPCredentials: Sendable, Equatable {
    var user: String
    var password: String
}

/// Sends mail over SMTP (RFC 5321): one session per call, with STARTTLS or implicit TLS, AUTH
/// PLAIN or LOGIN, and every reply checked. A delivery is done when the server accepted the
/// message data (250 after the final `.`); the QUIT after it cannot undo that.
struct SMTPClient: Sendable {
    var host: String
    var port: Int
    var security: SMTPSecurity
    /// Present unless `security` is `.none`.
    var tls: TLSClient?
    var ehloName: String
    var credentials: SMTPCredentials?
    var mechanism: SMTPAuthMechanism
    var timeout: Duration
    var eventLoopGroup: any EventLoopGroup

    var server: String { "\(host):\(port)" }

    /// Sends `message` from `sender` to every recipient, or to none: when the server refuses a
    /// recipient the transaction is abandoned, so a retry cannot mail the others twice.
    func send(from sender: String, to recipients: [String], message: [UInt8]) async throws {
        do {
            let channel = try await StreamConnection.open(host: host, port: port, implicitTLS: security == .implicit ? tls : nil,
                                                          group: eventLoopGroup, connectTimeout: timeout)
            let deadline = ConnectionDeadline(channel: channel.channel, limit: timeout)
            try await deadline.run {
                try await channel.executeThenClose { inbound, outbound in
                    var session = Session(client: self, reader: StreamReader(inbound, maxLineLength: 4096),
                                          writer: StreamWriter(outbound: outbound, channel: channel.channel))
                    try await session.run(from: sender, to: recipients, message: message)
                }
            }
        } catch {
            throw DeliveryFailure.connection(error, server: "SMTP server \(server)")
        }
    }

    /// One conversation, command by command.
    private struct Session {
        let client: SMTPClient
        var reader: StreamReader
        let writer: StreamWriter
        var server: String { client.server }

        init(client: SMTPClient, reader: StreamReader, writer: StreamWriter) {
            self.client = client
            self.reader = reader
            self.writer = writer
        }

        mutating func run(from sender: String, to recipients: [String], message: [UInt8]) async throws {
            try expect(200..<300, after: "the connection (greeting)", reply: try await SMTPReply.read(from: &reader))
            var extensions = try await hello()
            if client.security == .starttls {
                guard extensions.supports("STARTTLS"), let tls = client.tls else {
                    throw DeliveryFailure.permanent("SMTP server \(server) does not offer STARTTLS (tls_mode: starttls requires it)")
                }
                try await command("STARTTLS", expecting: 200..<300)
                try await writer.startTLS(tls, after: reader)
                // What the server said before TLS counts for nothing after it (RFC 3207 §4.2).
                extensions = try await hello()
            }
            if let credentials = client.credentials {
                try await authenticate(credentials, offered: extensions.authMechanisms)
            }
            if let maximum = extensions.maximumSize, message.count > maximum {
                throw DeliveryFailure.permanent("the mail is \(message.count) bytes, SMTP server \(server) takes at most \(maximum)")
            }
            let size = extensions.maximumSize != nil ? " SIZE=\(message.count)" : ""
            try await command("MAIL FROM:<\(sender)>\(size)", expecting: 200..<300)
            for recipient in recipients {
                let reply = try await send("RCPT TO:<\(recipient)>")
                guard (200..<300).contains(reply.code) else {
                    _ = try? await send("RSET")
                    throw reply.failure(after: "RCPT TO:<\(recipient)>", server: server)
                }
            }
            try await command("DATA", expecting: 300..<400)
            try await writer.write(SMTPData.encode(message))
            try expect(200..<300, after: "the message data", reply: try await SMTPReply.read(from: &reader))
            // Delivered; the goodbye is a courtesy whose failure changes nothing.
            _ = try? await send("QUIT")
        }

        /// EHLO, or HELO for a server that does not know EHLO (then without extensions).
        private mutating func hello() async throws -> SMTPExtensions {
            let reply = try await send("EHLO \(client.ehloName)")
            if (200..<300).contains(reply.code) { return SMTPExtensions(ehloReply: reply) }
            if reply.code == 500 || reply.code == 502 {
                try await command("HELO \(client.ehloName)", expecting: 200..<300)
                return SMTPExtensions(ehloReply: SMTPReply(code: 250, lines: []))
            }
            throw reply.failure(after: "EHLO", server: server)
        }

        private mutating func authenticate(_ credentials: SMTPCredentials, offered: [String]) async throws {
            let mechanism: SMTPAuthMechanism
            switch client.mechanism {
            case .auto:
                if offered.contains("PLAIN") {
                    mechanism = .plain
                } else if offered.contains("LOGIN") {
                    mechanism = .login
                } else {
                    throw DeliveryFailure.permanent("SMTP server \(server) offers no AUTH mechanism auditpipe speaks (it offers: \(offered.isEmpty ? "none" : offered.joined(separator: " ")); auditpipe: PLAIN, LOGIN)")
                }
            case .plain, .login:
                mechanism = client.mechanism
                guard offered.contains(mechanism.rawValue.uppercased()) else {
                    throw DeliveryFailure.permanent("SMTP server \(server) does not offer AUTH \(mechanism.rawValue.uppercased()) (it offers: \(offered.isEmpty ? "none" : offered.joined(separator: " ")))")
                }
            }
            let reply: SMTPReply
            switch mechanism {
            case .plain, .auto:
                let token = Data(([0] + Array(credentials.user.utf8) + [0] + Array(credentials.password.utf8))).base64EncodedString()
                reply = try await send("AUTH PLAIN \(token)")
            case .login:
                try await command("AUTH LOGIN", expecting: 300..<400)
                try await command(Data(credentials.user.utf8).base64EncodedString(), expecting: 300..<400, describedAs: "AUTH LOGIN (user name)")
                reply = try await send(Data(credentials.password.utf8).base64EncodedString())
            }
            guard (200..<300).contains(reply.code) else {
                throw reply.failure(after: "AUTH \(mechanism.rawValue.uppercased()) as \(credentials.user)", server: server)
            }
        }

        @discardableResult
        private mutating func send(_ line: String) async throws -> SMTPReply {
            try await writer.write(line + "\r\n")
            return try await SMTPReply.read(from: &reader)
        }

        /// Sends a command and fails the delivery unless the reply's code is in `expected`; the
        /// failure names the command as `description` says (never with credentials in it).
        private mutating func command(_ line: String, expecting expected: Range<Int>, describedAs description: String? = nil) async throws {
            try expect(expected, after: description ?? line, reply: try await send(line))
        }

        private func expect(_ expected: Range<Int>, after command: String, reply: SMTPReply) throws {
            guard expected.contains(reply.code) else { throw reply.failure(after: command, server: server) }
        }
    }
}
