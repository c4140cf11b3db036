/// InfluxDB's line protocol, written byte by byte:
/// `measurement,tag=value,… field="text",count=1i 1795687200500000000`.
/// Each part has its own escaping; none may hold a newline (which ends a point).
struct InfluxLineProtocol {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a point (after the previous one's newline).
    mutating func measurement(_ name: String) {
        append(escaping: name, special: [UInt8(ascii: ","), UInt8(ascii: " ")])
    }

    /// `,key=value`; tags are text only, and a tag without a value is left out.
    mutating func tag(_ key: String, _ value: String) {
        guard !value.isEmpty else { return }
        bytes.append(UInt8(ascii: ","))
        appendKey(key)
        bytes.append(UInt8(ascii: "="))
        appendKey(value)
    }

    /// The first field follows a space, the others a comma.
    mutating func stringField(_ key: String, _ value: String, first: Bool = false) {
        bytes.append(first ? UInt8(ascii: " ") : UInt8(ascii: ","))
        appendKey(key)
        bytes += #"=""#.utf8
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            // A string field cannot hold a line break: written as the two characters \n (and \r).
            case 0x0A: bytes += #"\\n"#.utf8
            case 0x0D: bytes += #"\\r"#.utf8
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integerField(_ key: String, _ value: Int64, first: Bool = false) {
        bytes.append(first ? UInt8(ascii: " ") : UInt8(ascii: ","))
        appendKey(key)
        bytes.append(UInt8(ascii: "="))
        bytes += String(value).utf8
        bytes.append(UInt8(ascii: "i"))
    }

    /// The point's time in nanoseconds, and the newline that ends it.
    mutating func end(timestamp: Int64) {
        bytes.append(UInt8(ascii: " "))
        bytes += String(timestamp).utf8
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Tag keys, tag values and field keys: commas, equals signs and spaces escaped.
    private mutating func appendKey(_ text: String) {
        append(escaping: text, special: [UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: " ")])
    }

    private mutating func append(escaping text: String, special: [UInt8]) {
        let utf8 = Array(text.utf8)
        for (offset, byte) in utf8.enumerated() {
            if special.contains(byte) {
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            } else if byte < 0x20 {
                // Control characters (a line break would end the point) become spaces, escaped.
                bytes += #"\ "#.utf8
            } else if byte == UInt8(ascii: "\\"), offset == utf8.count - 1 || special.contains(utf8[offset + 1]) || utf8[offset + 1] < 0x20 {
                // A backslash before a separator (or at the end) would escape it: doubled, so it
                // stays text (InfluxDB 2 reads `\\` as one backslash; 1.x keeps both).
                bytes += #"\\"#.utf8
            } else {
                bytes.append(byte)
            }
        }
    }
}
