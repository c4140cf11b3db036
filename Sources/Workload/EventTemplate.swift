/// An audit event whose auditID and timestamps are rewritten each time it is sent, so that a load
/// generator sends unique, current events without generating (or re-encoding) each one anew.
public struct EventTemplate: Sendable {
    public let bytes: [UInt8]
    /// The auditID's 36 characters.
    public let auditIDRange: Range<Int>
    /// requestReceivedTimestamp and stageTimestamp (27 characters each), where present.
    let timestamps: [Range<Int>]

    /// nil when the event has no 36-character auditID (CorpusGenerator's events all have one).
    public init?(_ event: [UInt8]) {
        guard let id = Self.value(of: "auditID", length: 36, in: event) else { return nil }
        bytes = event
        auditIDRange = id
        timestamps = ["requestReceivedTimestamp", "stageTimestamp"].compactMap {
            Self.value(of: $0, length: AuditTimestamp.length, in: event)
        }
    }

    /// The auditID the event was generated with.
    public var originalAuditID: String { String(decoding: bytes[auditIDRange], as: UTF8.self) }

    /// Appends the event with `auditID` (36 bytes) and `timestamp` (27 bytes) written in.
    public func append(to out: inout [UInt8], auditID newID: [UInt8], timestamp: [UInt8]) {
        let base = out.count
        out += bytes
        out.replaceSubrange((base + auditIDRange.lowerBound)..<(base + auditIDRange.upperBound), with: newID)
        for range in timestamps {
            out.replaceSubrange((base + range.lowerBound)..<(base + range.upperBound), with: timestamp)
        }
    }

    /// Where the string value of `"key":"` starts, if it is `length` bytes long.
    private static func value(of key: String, length: Int, in event: [UInt8]) -> Range<Int>? {
        let needle = Array("\"\(key)\":\"".utf8)
        guard event.count > needle.count + length else { return nil }
        var index = 0
        while index + needle.count + length < event.count {
            if event[index] == needle[0], Array(event[index..<(index + needle.count)]) == needle {
                let start = index + needle.count
                guard event[start + length] == UInt8(ascii: "\"") else { return nil }
                return start..<(start + length)
            }
            index += 1
        }
        return nil
    }
}

/// The auditIDs a load generator gives its events: UUID-shaped, unique per run, request and item, and
/// readable back, so that a consumer of the alerts can tell which request an alert came from.
/// `RRRRRRRR-QQQQ-QQQQ-IIII-TTTTTTTTTTTT`: run tag, request number, item in the request, the
/// generated event's own last 12 digits.
public enum LoadAuditID {
    public static func make(run: UInt32, request: UInt32, item: UInt16, tail: ArraySlice<UInt8>) -> [UInt8] {
        var id = hex(UInt64(run), 8)
        id.append(UInt8(ascii: "-"))
        let requestDigits = hex(UInt64(request), 8)
        id += requestDigits[0..<4]
        id.append(UInt8(ascii: "-"))
        id += requestDigits[4..<8]
        id.append(UInt8(ascii: "-"))
        id += hex(UInt64(item), 4)
        id.append(UInt8(ascii: "-"))
        id += tail.suffix(12)
        return id
    }

    /// The run tag and request number of an auditID made by `make`; nil for other ids.
    public static func parse(_ id: some Collection<UInt8>) -> (run: UInt32, request: UInt32, item: UInt16)? {
        let bytes = Array(id)
        guard bytes.count == 36, bytes[8] == UInt8(ascii: "-"), bytes[13] == UInt8(ascii: "-"),
              bytes[18] == UInt8(ascii: "-"), bytes[23] == UInt8(ascii: "-"),
              let run = number(bytes[0..<8]), let high = number(bytes[9..<13]), let low = number(bytes[14..<18]),
              let item = number(bytes[19..<23]) else { return nil }
        return (UInt32(run), UInt32(high << 16 | low), UInt16(item))
    }

    private static func hex(_ value: UInt64, _ width: Int) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return (0..<width).reversed().map { digits[Int((value >> (4 * UInt64($0))) & 0xf)] }
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt64(digit - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        return value
    }
}

/// The webhook's request body: the audit events as one `audit.k8s.io/v1` EventList, as the apiserver writes it.
public enum EventListBody {
    public static let prefix = Array(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.utf8)
    public static let suffix = Array("]}".utf8)

    public static func make(_ items: some Sequence<[UInt8]>) -> [UInt8] {
        var body = prefix
        for (index, item) in items.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += item
        }
        return body + suffix
    }
}
