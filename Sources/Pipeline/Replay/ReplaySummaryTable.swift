import AuditModel

/// `--summary`: alerts per rule (and per cluster), most frequent first, with the first and last time seen.
public enum ReplaySummaryTable {
    public static func render(_ tally: ReplayTally, byCluster: Bool) -> String {
        var table = TextTable(byCluster ? ["RULE", "CLUSTER", "PRIORITY", "ALERTS", "FIRST SEEN", "LAST SEEN"]
                                        : ["RULE", "PRIORITY", "ALERTS", "FIRST SEEN", "LAST SEEN"],
                              numeric: byCluster ? [3] : [2])
        let rows: [(rule: String, cluster: String, entry: ReplayTally.Entry)] = byCluster
            ? tally.entries.map { ($0.key.rule, $0.key.cluster, $0.value) }
            : tally.byRule.map { ($0.key, "", $0.value) }
        for row in rows.sorted(by: { ($1.entry.count, $0.rule, $0.cluster) < ($0.entry.count, $1.rule, $1.cluster) }) {
            var cells = [row.rule]
            if byCluster { cells.append(row.cluster.isEmpty ? "-" : row.cluster) }
            cells += [row.entry.priority.name, String(row.entry.count), seconds(row.entry.first), seconds(row.entry.last)]
            table.add(cells)
        }
        let clusters = Set(tally.entries.keys.map(\.cluster)).count
        return table.text + "\(tally.total) alerts from \(tally.byRule.count) rules"
            + (byCluster ? " in \(clusters) clusters" : "") + "\n"
    }

    /// RFC 3339 to the second: enough to place an alert, short enough for a table.
    static func seconds(_ nanoseconds: Int64) -> String {
        let full = Timestamp.rfc3339(nanoseconds)
        guard let dot = full.firstIndex(of: ".") else { return full }
        return String(full[..<dot]) + "Z"
    }
}
