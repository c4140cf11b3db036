import Foundation
import NIOCore

/// A server reply: a three-digit code and its text lines (`250-…` continued, `250 …` last).
struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    let code: Int
    let lines: [String]

    var isPositive: Bool { (200..<400).contains(code) }
    var description: String { lines.isEmpty ? "\(code)" : lines.map { "\(code) \($0)" }.joined(separator: " / ") }

    /// Reads one reply, however many lines it has.
    static func read(from reader: inout StreamReader) async throws -> SMTPReply {
        var lines: [String] = []
        var code: Int?
        while true {
            let line = try await reader.readLine()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0...2].allSatisfy({ (0x30...0x39).contains($0) }),
                  bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-"),
                  let lineCode = Int(String(decoding: bytes[0...2], as: UTF8.self)) else {
                throw StreamError.protocolViolation("not an SMTP reply: '\(line.prefix(80))'")
            }
            guard code == nil || code == lineCode else {
                throw StreamError.protocolViolation("a reply that changes its code midway: '\(line.prefix(80))'")
            }
            code = lineCode
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            guard lines.count <= 1000 else { throw StreamError.protocolViolation("a reply of more than 1000 lines") }
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return SMTPReply(code: lineCode, lines: lines) }
        }
    }

    /// What a reply that is not the expected one means for the delivery: 4xx is transient (the
    /// server says try again later), 5xx permanent, anything else a server to retry later.
    func failure(after command: String, server: String) -> DeliveryFailure {
        let reason = "SMTP server \(server) answered \(description) to \(command)"
        switch code {
        case 400..<500: return .transient(reason)
        case 500..<600: return .permanent(reason)
        default: return .transient("unexpected reply: " + reason)
        }
    }
}

/// The server's EHLO answer: its extensions (`STARTTLS`, `AUTH PLAIN LOGIN`, `SIZE 1000000`, …).
struct SMTPExtensions: Sendable, Equatable {
    private let keywords: [String: [String]]

    init(ehloReply: SMTPReply) {
        var keywords: [String: [String]] = [:]
        for line in ehloReply.lines.dropFirst() {
            // Old servers wrote `AUTH=LOGIN PLAIN`.
            let words = line.replacingOccurrences(of: "=", with: " ").split(separator: " ").map(String.init)
            guard let keyword = words.first?.uppercased() else { continue }
            keywords[keyword, default: []] += words.dropFirst().map { $0.uppercased() }
        }
        self.keywords = keywords
    }

    func supports(_ keyword: String) -> Bool { keywords[keyword] != nil }
    var authMechanisms: [String] { keywords["AUTH"] ?? [] }
    var maximumSize: Int? { keywords["SIZE"]?.first.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } }
}

/// DATA's content on the wire: every line ending CRLF (a bare CR or LF becomes one), a `.`
/// doubled at the start of a line so that no line of the message reads as the end of it, and
/// the terminating `.` line.
enum SMTPData {
    static func encode(_ message: [UInt8]) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(message.count + message.count / 50 + 8)
        var atLineStart = true
        var index = 0
        while index < message.count {
            let byte = message[index]
            if byte == 0x0D || byte == 0x0A {
                out.writeBytes([0x0D, 0x0A])
                if byte == 0x0D, index + 1 < message.count, message[index + 1] == 0x0A { index += 1 }
                atLineStart = true
            } else {
                if atLineStart, byte == UInt8(ascii: ".") { out.writeInteger(UInt8(ascii: ".")) }
                out.writeInteger(byte)
                atLineStart = false
            }
            index += 1
        }
        if !atLineStart { out.writeBytes([0x0D, 0x0A]) }
        out.writeString(".\r\n")
        return out
    }
}
