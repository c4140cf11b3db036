import Rules

/// Labels as Prometheus defines them (names `[a-zA-Z_][a-zA-Z0-9_]*`, values any text), which
/// Alertmanager and Loki both require: alert fields become labels through here.
public enum AlertLabels {
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy(isNameByte)
    }

    /// A field name as a label name, as falcosidekick converts them: every character a label name
    /// cannot hold becomes `_`, runs of `_` collapse and leading or trailing ones go
    /// (`ka.req.pod.containers.image[0]` → `ka_req_pod_containers_image_0`); a name that would start
    /// with a digit gets a leading `_`. nil when nothing is left.
    public static func name(forField field: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(field.utf8.count)
        for byte in field.utf8 {
            let mapped = isNameByte(byte) ? byte : UInt8(ascii: "_")
            if mapped == UInt8(ascii: "_"), bytes.last == UInt8(ascii: "_") || bytes.isEmpty { continue }
            bytes.append(mapped)
        }
        while bytes.last == UInt8(ascii: "_") { bytes.removeLast() }
        guard let first = bytes.first else { return nil }
        if isDigit(first) { bytes.insert(UInt8(ascii: "_"), at: 0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A field's value as a label value: text as it is, numbers in decimal, lists joined with
    /// commas; nil for a field without a value (an empty label means "no label" to Prometheus).
    public static func value(_ value: OutputFieldValue) -> String? {
        switch value {
        case .null: nil
        case .string(let text): text.isEmpty ? nil : text
        case .integer(let number): String(number)
        case .list(let items): items.isEmpty ? nil : items.joined(separator: ",")
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): true
        default: false
        }
    }
}
