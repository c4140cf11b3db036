import AuditModel
import Rules

/// How people-facing services (chat, incident tools) show an alert, in one place so that
/// Slack, Teams, Datadog, … agree on the title, the colour of a priority and the fields listed.
public enum AlertPresentation {
    /// One named value shown with an alert.
    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// How alarming a priority is, for services that show severity with a few named styles
    /// rather than a colour (Teams cards, Datadog's alert types).
    public enum Severity: Sendable, Equatable {
        case critical, warning, notice, info
    }

    /// `Critical: Terminal shell in container (prod-eu)`: priority, rule and the cluster it came from.
    public static func title(_ alert: Alert) -> String {
        alert.cluster.isEmpty ? "\(alert.priority.name): \(alert.rule)" : "\(alert.priority.name): \(alert.rule) (\(alert.cluster))"
    }

    /// falcosidekick's colours, so alerts look as they did there.
    public static func color(_ priority: Priority) -> String {
        switch priority {
        case .emergency: "#e20b0b"
        case .alert: "#ff5400"
        case .critical: "#ff9000"
        case .error: "#ffc700"
        case .warning: "#ffff00"
        case .notice: "#5bffb5"
        case .informational: "#68c2ff"
        case .debug: "#ccfff2"
        }
    }

    public static func severity(_ priority: Priority) -> Severity {
        switch priority {
        case .emergency, .alert, .critical, .error: .critical
        case .warning: .warning
        case .notice: .notice
        case .informational, .debug: .info
        }
    }

    /// The alert's time as RFC 3339 (UTC, nanoseconds), as in its JSON.
    public static func time(_ alert: Alert) -> String { Timestamp.rfc3339(alert.time) }

    /// What an alert shows besides its output line: rule, priority, source, cluster, host, tags,
    /// then its output fields by name (custom and templated fields are among them, added by
    /// the sink), then the time. Fields without a value are left out, and so is `evt.time`,
    /// which `time` shows readably.
    public static func fields(_ alert: Alert) -> [Field] {
        var fields = [Field("rule", alert.rule), Field("priority", alert.priority.name), Field("source", alert.source)]
        if !alert.cluster.isEmpty { fields.append(Field("cluster", alert.cluster)) }
        if !alert.hostname.isEmpty { fields.append(Field("hostname", alert.hostname)) }
        if !alert.tags.isEmpty { fields.append(Field("tags", alert.tags.sorted().joined(separator: ", "))) }
        for (name, value) in alert.outputFields.sorted(by: { $0.0 < $1.0 }) where name != "evt.time" {
            if let text = text(value) { fields.append(Field(name, text)) }
        }
        fields.append(Field("time", time(alert)))
        return fields
    }

    /// A field's value as text; nil for a missing value.
    public static func text(_ value: OutputFieldValue) -> String? {
        switch value {
        case .null: nil
        case .string(let text): text
        case .integer(let number): String(number)
        case .list(let items): items.joined(separator: ", ")
        }
    }

    /// `text` cut to at most `limit` characters, marked with an ellipsis when cut (services
    /// refuse or silently drop what is over their limits).
    public static func truncated(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
