import Foundation
import Kafka
@testable import Pipeline
import Rules
import Testing

/// Replay's parts that need no Kafka: times, planning, tables, progress text.
@Suite struct ReplayPartsTests {
    static let now: Int64 = 1_795_132_800 * 1_000_000_000

    @Test func timesAreRFC3339OrRelativeToNow() {
        #expect(ReplayTime.parse("2026-11-20T00:00:00Z", now: Self.now) == Self.now)
        #expect(ReplayTime.parse("2026-11-20T01:00:00+01:00", now: 0) == Self.now)
        #expect(ReplayTime.parse("-24h", now: Self.now) == Self.now - 86_400_000_000_000)
        #expect(ReplayTime.parse("-7d", now: Self.now) == Self.now - 7 * 86_400_000_000_000)
        #expect(ReplayTime.parse("-30m", now: Self.now) == Self.now - 1_800_000_000_000)
        #expect(ReplayTime.parse("-1d12h", now: Self.now) == Self.now - 129_600_000_000_000)
        #expect(ReplayTime.parse("now", now: Self.now) == Self.now)
        for bad in ["", "-", "-24", "24h", "-3x", "yesterday", "2026-11-20", "-h"] {
            #expect(ReplayTime.parse(bad, now: Self.now) == nil, "\(bad)")
        }
    }

    @Test func offsetsComeFromTheBrokersTimeIndexWhenItHasOne() {
        let p0 = TopicPartition("raw", 0), p1 = TopicPartition("raw", 1), p2 = TopicPartition("raw", 2)
        let facts: [TopicPartition: PartitionFacts] = [
            // Found both ends.
            p0: PartitionFacts(low: 10, high: 100, fromOffset: .some(40), toOffset: .some(70)),
            // Nothing as recent as the start: nothing to read.
            p1: PartitionFacts(low: 0, high: 50, fromOffset: .some(nil), toOffset: .some(nil)),
            // Nothing after the end: read up to the high watermark.
            p2: PartitionFacts(low: 5, high: 30, fromOffset: .some(8), toOffset: .some(nil)),
        ]
        let plan = ReplayPlan.make(facts, byTime: true)
        #expect(plan.spans == [PartitionSpan(partition: p0, start: 40, end: 70), PartitionSpan(partition: p2, start: 8, end: 30)])
        #expect(plan.total == 52)
        #expect(plan.retained == 90 + 50 + 25)
        // Brokers that cannot look up times: every retained offset, the events' times decide.
        let whole = ReplayPlan.make(facts, byTime: false)
        #expect(whole.spans.map(\.count) == [90, 50, 25])
        #expect(!whole.byTime)
    }

    static func alert(_ rule: String, cluster: String, time: Int64, priority: Priority = .warning) -> Alert {
        Alert(time: time, rule: rule, priority: priority, output: "", outputFields: [], source: "k8s_audit", tags: [],
              hostname: "h", cluster: cluster, auditID: "a", id: "i", origin: nil)
    }

    @Test func theSummaryCountsAlertsPerRuleAndClusterWithFirstAndLastSeen() {
        var tally = ReplayTally()
        tally.add(Self.alert("Secret read", cluster: "eu", time: Self.now + 3_600_000_000_000))
        tally.add(Self.alert("Secret read", cluster: "us", time: Self.now))
        tally.add(Self.alert("Secret read", cluster: "eu", time: Self.now + 7_200_000_000_000))
        tally.add(Self.alert("Pod exec", cluster: "eu", time: Self.now, priority: .notice))
        let byRule = ReplaySummaryTable.render(tally, byCluster: false).split(separator: "\n").map(String.init)
        #expect(byRule[0].hasPrefix("RULE"))
        #expect(byRule[1].hasPrefix("Secret read") && byRule[1].contains(" 3 ")
                && byRule[1].contains("2026-11-20T00:00:00Z") && byRule[1].hasSuffix("2026-11-20T02:00:00Z"))
        #expect(byRule[2].hasPrefix("Pod exec") && byRule[2].contains("Notice"))
        #expect(byRule.last == "4 alerts from 2 rules")
        let byCluster = ReplaySummaryTable.render(tally, byCluster: true).split(separator: "\n").map(String.init)
        #expect(byCluster[1].hasPrefix("Secret read") && byCluster[1].contains(" eu ") && byCluster[1].contains(" 2 ")
                && byCluster[1].contains("2026-11-20T01:00:00Z"))
        #expect(byCluster.last == "4 alerts from 2 rules in 2 clusters")
    }

    @Test func progressShowsABarPerPartitionOnTerminalsAndALineElsewhere() {
        var snapshot = ReplayProgress.Snapshot()
        snapshot.spans = (0..<30).map { PartitionSpan(partition: TopicPartition("raw", Int32($0)), start: 0, end: 100) }
        snapshot.next = (0..<30).map { $0 < 15 ? 100 : 0 }
        snapshot.eventsRead = 1500
        snapshot.alerts = 12
        snapshot.startedAt = 1_000_000_000
        let now: UInt64 = 4_000_000_000
        let lines = ReplayProgressView.bar(snapshot, width: 80, now: now)
        #expect(lines[0].hasPrefix("[") && lines[0].contains(" 50%") && lines[0].contains("1500 events")
                && lines[0].contains("500/s") && lines[0].contains("ETA 3s") && lines[0].contains("12 alerts"))
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines.dropFirst().joined(separator: " ").contains("0:#####") && lines.dropFirst().joined(separator: " ").contains("29:-----"))
        #expect(lines.count > 2, "30 partitions take several lines")
        #expect(ReplayProgressView.line(snapshot, now: now)
                == "replay: 50% of 3000 offsets, 1500 events read (500/s), 12 alerts, ETA 3s")
    }
}
