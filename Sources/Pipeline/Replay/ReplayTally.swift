import Rules

/// Alerts counted by rule and cluster, with the first and last event time each was seen: what `--summary`
/// prints and `--diff` compares.
public struct ReplayTally: Sendable, Equatable {
    public struct Key: Hashable, Sendable {
        public let rule: String
        public let cluster: String
    }

    public struct Entry: Sendable, Equatable {
        public var count = 0
        /// Event times (stageTimestamp), ns since the epoch.
        public var first = Int64.max
        public var last = Int64.min
        public var priority = Priority.debug

        mutating func add(time: Int64, priority: Priority) {
            count += 1
            first = min(first, time)
            last = max(last, time)
            self.priority = priority
        }

        mutating func merge(_ other: Entry) {
            count += other.count
            first = min(first, other.first)
            last = max(last, other.last)
            priority = other.priority
        }
    }

    public private(set) var entries: [Key: Entry] = [:]

    public init() {}

    public mutating func add(_ alert: Alert) {
        entries[Key(rule: alert.rule, cluster: alert.cluster), default: Entry()].add(time: alert.time, priority: alert.priority)
    }

    public mutating func merge(_ other: ReplayTally) {
        for (key, entry) in other.entries { entries[key, default: Entry()].merge(entry) }
    }

    public var total: Int { entries.values.reduce(0) { $0 + $1.count } }

    /// Counts per rule, all clusters together.
    public var byRule: [String: Entry] {
        var rules: [String: Entry] = [:]
        for (key, entry) in entries { rules[key.rule, default: Entry()].merge(entry) }
        return rules
    }
}
