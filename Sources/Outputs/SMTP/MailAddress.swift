import Foundation

/// A mailbox as settings write it: `alerts@example.com` or `Security Alerts <alerts@example.com>`.
struct MailAddress: Sendable, Equatable, CustomStringConvertible {
    let displayName: String?
    /// The address (addr-spec) that goes into the SMTP envelope: ASCII, `local@domain`.
    let address: String

    init(displayName: String? = nil, address: String) {
        self.displayName = displayName
        self.address = address
    }

    init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var name: String?
        var address = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var display = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if display.count >= 2, display.hasPrefix("\""), display.hasSuffix("\"") {
                display = String(display.dropFirst().dropLast())
            }
            guard !display.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
            name = display.isEmpty ? nil : display
        }
        guard Self.isValidAddress(address) else { return nil }
        self.displayName = name
        self.address = address
    }

    /// `local@domain` in printable ASCII, with no characters that would break an SMTP command
    /// or a header (spaces, angle brackets, commas, quotes).
    static func isValidAddress(_ address: String) -> Bool {
        guard let at = address.lastIndex(of: "@") else { return false }
        let local = address[..<at], domain = address[address.index(after: at)...]
        guard !local.isEmpty, !domain.isEmpty, !domain.contains("@"), !domain.hasPrefix("."), !domain.hasSuffix(".") else { return false }
        return address.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7f && !"<>(),;:\"[]\\".unicodeScalars.contains(scalar)
        }
    }

    var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]) }

    var description: String { displayName.map { "\($0) <\(address)>" } ?? address }

    /// The header form: `"Name" <address>`, the name encoded (RFC 2047) when it is not ASCII.
    var headerValue: String {
        guard let displayName else { return address }
        if displayName.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) {
            let escaped = displayName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" <\(address)>"
        }
        return MailHeaders.encodedWords(displayName, firstLineRoom: 60).joined(separator: " ") + " <\(address)>"
    }
}
