import Foundation
import NIOCore

/// The server's `INFO`: what it requires (TLS, auth) and allows (payload size).
struct NATSServerInfo: Decodable, Sendable, Equatable {
    var serverID: String
    var version: String
    var maxPayload: Int
    var tlsRequired: Bool
    var tlsAvailable: Bool
    var authRequired: Bool

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id", version, maxPayload = "max_payload", tlsRequired = "tls_required"
        case tlsAvailable = "tls_available", authRequired = "auth_required"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try container.decodeIfPresent(String.self, forKey: .serverID) ?? ""
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? ""
        // The protocol's default when a server does not say: 1 MB.
        maxPayload = try container.decodeIfPresent(Int.self, forKey: .maxPayload) ?? 1_048_576
        tlsRequired = try container.decodeIfPresent(Bool.self, forKey: .tlsRequired) ?? false
        tlsAvailable = try container.decodeIfPresent(Bool.self, forKey: .tlsAvailable) ?? false
        authRequired = try container.decodeIfPresent(Bool.self, forKey: .authRequired) ?? false
    }

    init(json: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
    }
}

/// How the client authenticates in `CONNECT`.
enum NATSAuth: Sendable, Equatable {
    case none
    case userPassword(user: String, password: String)
    case token(String)
}

/// The client's `CONNECT`. Not verbose: the server only answers errors, and a `PING` after each
/// batch (answered `PONG` once the server has processed everything before it) confirms delivery.
struct NATSConnectOptions: Encodable {
    var verbose = false
    var pedantic = false
    var tlsRequired: Bool
    var name: String
    var lang = "swift"
    var version = "auditpipe"
    var `protocol` = 1
    var headers = false
    var user: String?
    var pass: String?
    var authToken: String?

    enum CodingKeys: String, CodingKey {
        case verbose, pedantic, tlsRequired = "tls_required", name, lang, version, `protocol`, headers, user, pass
        case authToken = "auth_token"
    }

    init(name: String, tlsRequired: Bool, auth: NATSAuth) {
        self.name = name
        self.tlsRequired = tlsRequired
        switch auth {
        case .none: break
        case .userPassword(let user, let password):
            self.user = user
            pass = password
        case .token(let token):
            authToken = token
        }
    }

    func line() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return "CONNECT " + String(decoding: try encoder.encode(self), as: UTF8.self) + "\r\n"
    }
}

/// One operation the server sends (the protocol's keywords are case-insensitive).
enum NATSServerOperation: Equatable {
    case info(String)
    case message(subject: String, subscription: Int, replyTo: String?, size: Int)
    case ping
    case pong
    case ok
    case error(String)

    init(line: String) throws {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        let keywordEnd = trimmed.firstIndex { $0 == " " || $0 == "\t" } ?? trimmed.endIndex
        let keyword = trimmed[..<keywordEnd].uppercased()
        let rest = trimmed[keywordEnd...].drop { $0 == " " || $0 == "\t" }
        switch keyword {
        case "PING": self = .ping
        case "PONG": self = .pong
        case "+OK": self = .ok
        case "INFO": self = .info(String(rest))
        case "-ERR":
            var message = rest.trimmingCharacters(in: .whitespaces)
            if message.count >= 2, message.hasPrefix("'"), message.hasSuffix("'") {
                message = String(message.dropFirst().dropLast())
            }
            self = .error(message)
        case "MSG":
            let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 3 || fields.count == 4, let subscription = Int(fields[1]),
                  let size = Int(fields.last!), size >= 0 else {
                throw StreamError.protocolViolation("malformed MSG line '\(line)'")
            }
            self = .message(subject: String(fields[0]), subscription: subscription,
                            replyTo: fields.count == 4 ? String(fields[2]) : nil, size: size)
        default:
            throw StreamError.protocolViolation("unknown operation '\(line.prefix(80))'")
        }
    }
}

/// A message received on a subscription.
public struct NATSMessage: Sendable, Equatable {
    public let subject: String
    public let replyTo: String?
    public let payload: [UInt8]
}

/// An `-ERR` from the server, with what it means for a delivery.
struct NATSServerError: Error, CustomStringConvertible, Equatable {
    let messages: [String]

    var description: String { "the NATS server answered: " + messages.map { "-ERR '\($0)'" }.joined(separator: ", ") }

    /// Authentication, authorisation and payloads the server refuses stay refused; the rest
    /// (stale connection, too many connections, slow consumer, …) may pass on the next attempt.
    var isPermanent: Bool {
        messages.contains { message in
            let lowercased = message.lowercased()
            return ["authorization violation", "authentication expired", "authentication revoked", "permissions violation",
                    "maximum payload", "invalid publish subject", "invalid subject", "tls required", "invalid client protocol",
                    "unknown protocol operation", "parser error"].contains { lowercased.contains($0) }
        }
    }

    var deliveryFailure: DeliveryFailure {
        isPermanent ? .permanent(description) : .transient(description)
    }
}

/// Subjects: dot-separated tokens of printable characters without whitespace.
enum NATSSubject {
    /// Whether `subject` can be published to: non-empty tokens, no whitespace or control
    /// characters, no wildcards (`*`, `>`), which only subscriptions may use.
    static func isValidForPublishing(_ subject: String) -> Bool {
        isValid(subject, allowWildcards: false)
    }

    static func isValid(_ subject: String, allowWildcards: Bool) -> Bool {
        guard !subject.isEmpty else { return false }
        for token in subject.split(separator: ".", omittingEmptySubsequences: false) {
            guard !token.isEmpty else { return false }
            for scalar in token.unicodeScalars {
                if scalar.value <= 0x20 || scalar.value == 0x7f { return false }
                if !allowWildcards, scalar == "*" || scalar == ">" { return false }
            }
        }
        return true
    }

    /// falcosidekick's slug of a rule name: lower case, every run of characters other than
    /// `a-z0-9` one `_`, no `_` at either end ("Terminal shell in container" →
    /// `terminal_shell_in_container`); `unknown` when nothing is left.
    static func slug(_ text: String) -> String {
        var result = ""
        var pendingSeparator = false
        for scalar in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingSeparator, !result.isEmpty { result += "_" }
                pendingSeparator = false
                result.unicodeScalars.append(scalar)
            } else {
                pendingSeparator = true
            }
        }
        return result.isEmpty ? "unknown" : result
    }
}

extension ByteBuffer {
    /// `PUB <subject> <#bytes>\r\n<payload>\r\n`.
    mutating func writeNATSPublish(subject: String, payload: [UInt8]) {
        writeString("PUB ")
        writeString(subject)
        writeString(" ")
        writeString(String(payload.count))
        writeString("\r\n")
        writeBytes(payload)
        writeString("\r\n")
    }
}
