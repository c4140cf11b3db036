/// `--diff OLD.yaml`: how the rules of `--rules` fire compared with the old ones over the same events —
/// rules that fire more or less, rules only one side has. Rules that fire as before are summed up in a line.
public enum ReplayDiffTable {
    public struct Change: Sendable, Equatable {
        public let rule: String
        public let old: Int
        public let new: Int
        public let note: String
    }

    /// Rules whose counts differ or that only one rule set has, largest change first.
    public static func changes(old: ReplayTally, new: ReplayTally, oldRules: [String], newRules: [String]) -> [Change] {
        let oldCounts = old.byRule.mapValues(\.count), newCounts = new.byRule.mapValues(\.count)
        let oldNames = Set(oldRules).union(oldCounts.keys), newNames = Set(newRules).union(newCounts.keys)
        var changes: [Change] = []
        for rule in oldNames.union(newNames) {
            let before = oldCounts[rule] ?? 0, after = newCounts[rule] ?? 0
            let note: String
            if !oldNames.contains(rule) {
                note = "new rule"
            } else if !newNames.contains(rule) {
                note = "removed rule"
            } else if after > before {
                note = "fires more"
            } else if after < before {
                note = "fires less"
            } else {
                continue
            }
            changes.append(Change(rule: rule, old: before, new: after, note: note))
        }
        return changes.sorted { (abs($1.new - $1.old), $0.rule) < (abs($0.new - $0.old), $1.rule) }
    }

    public static func render(old: ReplayTally, new: ReplayTally, oldRules: [String], newRules: [String]) -> String {
        let changed = changes(old: old, new: new, oldRules: oldRules, newRules: newRules)
        var text = ""
        if changed.isEmpty {
            text = "no rule fires differently\n"
        } else {
            var table = TextTable(["RULE", "OLD", "NEW", "CHANGE", ""], numeric: [1, 2, 3])
            for change in changed {
                let delta = change.new - change.old
                table.add([change.rule, String(change.old), String(change.new), delta > 0 ? "+\(delta)" : String(delta), change.note])
            }
            text = table.text
        }
        let changedNames = Set(changed.map(\.rule))
        let same = Set(oldRules).intersection(newRules).subtracting(changedNames)
        let sameAlerts = same.reduce(0) { $0 + (new.byRule[$1]?.count ?? 0) }
        return text + "\(same.count) rules fire as before (\(sameAlerts) alerts); alerts in all: \(old.total) old, \(new.total) new\n"
    }
}
