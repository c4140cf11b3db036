/// Cluster names as they travel in paths, keys (`<cluster>/<namespace>`) and headers: letters, digits and
/// `.` `_` `-` `:`, at most 253 characters (a DNS name fits; a `/` would make the Kafka key ambiguous).
enum ClusterName {
    static let maxLength = 253

    /// Why `name` cannot be a cluster name, or nil when it can.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "a cluster name cannot be empty" }
        if name.utf8.count > maxLength { return "a cluster name has at most \(maxLength) characters" }
        if let bad = name.unicodeScalars.first(where: { !isAllowed($0) }) {
            return "'\(name)' is not a cluster name: '\(bad)' is not allowed (letters, digits, . _ - : only)"
        }
        return nil
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-", ":": return true
        default: return false
        }
    }
}
