import AuditModel
import Rules

/// How Falco's simple outputs (stdout, file, program) write an alert, one alert per line: its `output` line,
/// as Falco prints it (`text`), its JSON (`json`), or a line for people watching a terminal (`pretty`: time,
/// priority, rule, cluster, then the rule's message).
public enum AlertLineFormat: String, Decodable, Sendable {
    case text, json, pretty

    /// The alerts as lines, ready to write.
    public func lines(_ alerts: [OutputAlert]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(alerts.reduce(0) { $0 + $1.json.count + 1 })
        for alert in alerts {
            switch self {
            case .text: bytes += alert.alert.output.utf8
            case .json: bytes += alert.json
            case .pretty: bytes += Self.pretty(alert.alert).utf8
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// `2026-11-26T10:00:00.500000000Z Notice   Exec or Attach Into Pod [prod-eu]: Session opened in a pod (…)`.
    /// The rule's message is the output line without Falco's time and priority prefix, which the line starts with.
    public static func pretty(_ alert: Alert) -> String {
        let prefix = "\(Timestamp.timeOfDay(alert.time)): \(alert.priority.name) "
        let message = alert.output.hasPrefix(prefix) ? alert.output.dropFirst(prefix.count) : Substring(alert.output)
        let priority = alert.priority.name.count < 8
            ? alert.priority.name + String(repeating: " ", count: 8 - alert.priority.name.count) : alert.priority.name
        let cluster = alert.cluster.isEmpty ? "" : " [\(alert.cluster)]"
        return "\(Timestamp.rfc3339(alert.time)) \(priority) \(alert.rule)\(cluster): \(message)"
    }
}
