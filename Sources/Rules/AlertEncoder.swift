import AuditModel

/// Alerts as JSON text, one object per line: Falco's JSON output (keys sorted,
/// as Falco's nlohmann-based output has them) plus auditpipe's keys.
public enum AlertEncoder {
    public static func json(_ alert: Alert) -> String {
        var out = "{"
        out += "\"auditID\":"; appendString(alert.auditID, to: &out)
        out += ",\"cluster\":"; appendString(alert.cluster, to: &out)
        out += ",\"hostname\":"; appendString(alert.hostname, to: &out)
        out += ",\"id\":"; appendString(alert.id, to: &out)
        out += ",\"origin\":"
        if let origin = alert.origin {
            out += "{\"offset\":\(origin.offset),\"partition\":\(origin.partition),\"topic\":"
            appendString(origin.topic, to: &out)
            out += "}"
        } else {
            out += "null"
        }
        out += ",\"output\":"; appendString(alert.output, to: &out)
        out += ",\"output_fields\":{"
        for (index, (name, value)) in alert.outputFields.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if index > 0 { out += "," }
            appendString(name, to: &out)
            out += ":"
            switch value {
            case .null: out += "null"
            case .string(let text): appendString(text, to: &out)
            case .integer(let number): out += String(number)
            case .list(let items):
                out += "["
                for (itemIndex, item) in items.enumerated() {
                    if itemIndex > 0 { out += "," }
                    appendString(item, to: &out)
                }
                out += "]"
            }
        }
        out += "},\"priority\":"; appendString(alert.priority.name, to: &out)
        out += ",\"rule\":"; appendString(alert.rule, to: &out)
        out += ",\"source\":"; appendString(alert.source, to: &out)
        out += ",\"tags\":["
        for (index, tag) in alert.tags.enumerated() {
            if index > 0 { out += "," }
            appendString(tag, to: &out)
        }
        out += "],\"time\":"; appendString(Timestamp.rfc3339(alert.time), to: &out)
        out += "}"
        return out
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func appendString(_ text: String, to out: inout String) {
        out += "\""
        var plainStart = text.utf8.startIndex
        var index = plainStart
        let utf8 = text.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                out += Substring(utf8[plainStart..<index])
                switch byte {
                case UInt8(ascii: "\""): out += "\\\""
                case UInt8(ascii: "\\"): out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x08: out += "\\b"
                case 0x0C: out += "\\f"
                default:
                    let hex = String(byte, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
                plainStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        out += Substring(utf8[plainStart..<utf8.endIndex])
        out += "\""
    }
}
