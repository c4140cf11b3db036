import Foundation

/// A mail as RFC 5322 and MIME spell it: CRLF line ends, headers in ASCII (other text as
/// RFC 2047 encoded words), bodies in UTF-8 as quoted-printable, a plain text and an HTML
/// alternative in `multipart/alternative` when there are both.
struct MailMessage: Sendable {
    var from: MailAddress
    var to: [MailAddress]
    var subject: String
    var date: Date
    /// Without the angle brackets: `local@domain`.
    var messageID: String
    var extraHeaders: [(name: String, value: String)] = []
    var text: String?
    var html: String?

    /// The message's bytes as DATA carries them, before dot-stuffing.
    func rendered() -> [UInt8] {
        var headers = MailHeaders()
        headers.add("Date", MailHeaders.date(date))
        headers.add("From", from.headerValue)
        headers.addAddressList("To", to.map(\.headerValue))
        headers.addUnstructured("Subject", subject)
        headers.add("Message-ID", "<\(messageID)>")
        for header in extraHeaders {
            headers.addUnstructured(header.name, header.value)
        }
        headers.add("MIME-Version", "1.0")
        var out = ""
        switch (text, html) {
        case (let text?, let html?):
            // "=_" cannot occur in quoted-printable text, so the boundary cannot occur in the parts.
            let boundary = "=_auditpipe_" + String(messageID.unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) }.prefix(40).map(Character.init))
            headers.add("Content-Type", "multipart/alternative;\r\n boundary=\"\(boundary)\"")
            out += headers.text + "\r\n"
            out += "This is a message in MIME format: a plain text and an HTML version.\r\n"
            out += "--\(boundary)\r\n" + Self.part("text/plain", text)
            out += "\r\n--\(boundary)\r\n" + Self.part("text/html", html)
            out += "\r\n--\(boundary)--\r\n"
        case (let text?, nil):
            out += headers.text + Self.part("text/plain", text)
        case (nil, let html?):
            out += headers.text + Self.part("text/html", html)
        case (nil, nil):
            out += headers.text + Self.part("text/plain", "")
        }
        return Array(out.utf8)
    }

    /// A body part's headers, blank line and content (ending with CRLF).
    private static func part(_ type: String, _ content: String) -> String {
        "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + QuotedPrintable.encode(content) + "\r\n"
    }
}

/// A header section being written, each field ending with CRLF.
struct MailHeaders {
    private(set) var text = ""

    mutating func add(_ name: String, _ value: String) {
        text += "\(name): \(value)\r\n"
    }

    /// Addresses, one per folded line when there are several.
    mutating func addAddressList(_ name: String, _ addresses: [String]) {
        add(name, addresses.joined(separator: ",\r\n "))
    }

    /// Free text: control characters (a line break in an alert's output must not start a new
    /// header) become spaces; text that is not ASCII or too long for one line becomes encoded words.
    mutating func addUnstructured(_ name: String, _ value: String) {
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map {
            $0.properties.generalCategory == .control ? " " : $0
        }))
        let isASCII = cleaned.unicodeScalars.allSatisfy { $0.value < 0x7f }
        if isASCII, name.count + 2 + cleaned.utf8.count <= 78 {
            add(name, cleaned)
        } else {
            add(name, Self.encodedWords(cleaned, firstLineRoom: 76 - name.count - 2).joined(separator: "\r\n "))
        }
    }

    /// `=?utf-8?B?…?=` words, each short enough for its line (76 characters with the folding
    /// space), never splitting a character between two words.
    static func encodedWords(_ text: String, firstLineRoom: Int) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        var room = max(firstLineRoom, 16)
        func flush() {
            words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk = []
            room = 75
        }
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            // 12 characters of framing; base64 turns every 3 bytes (rounded up) into 4.
            if !chunk.isEmpty, 12 + (chunk.count + bytes.count + 2) / 3 * 4 > room { flush() }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { flush() }
        return words
    }

    /// RFC 5322's date: `Thu, 26 Nov 2026 10:00:00 +0000`, in UTC.
    static func date(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}

/// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: lines of at most 76 characters, `=` and
/// bytes outside printable ASCII as `=XX`, spaces at a line's end encoded, line breaks as CRLF.
/// A `.` at the start of a line stays as it is: dot-stuffing on the wire takes care of it.
enum QuotedPrintable {
    static func encode(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for (index, line) in normalized.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { out += [0x0D, 0x0A] }
            let bytes = Array(line.utf8)
            var length = 0
            for (position, byte) in bytes.enumerated() {
                let isLast = position == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast)
                let token: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                // Room for a soft break (`=`) unless this token ends the line.
                let limit = isLast ? 76 : 75
                if length + token.count > limit {
                    out += [UInt8(ascii: "="), 0x0D, 0x0A]
                    length = 0
                }
                out += token
                length += token.count
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
