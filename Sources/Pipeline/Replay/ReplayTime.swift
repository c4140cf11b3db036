import AuditModel
import Foundation

/// The times `--from` and `--to` accept: RFC 3339 (`2026-11-20T08:00:00Z`, with an offset or fractions) or a
/// time relative to now (`-24h`, `-7d`, `-30m`, `-90s`, `-1d12h`; `now`). As ns since the epoch.
public enum ReplayTime {
    /// Nil when the text is neither form.
    public static func parse(_ text: String, now: Int64 = currentNanoseconds()) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "now" { return now }
        if trimmed.hasPrefix("-") { return relative(trimmed.dropFirst(), now: now) }
        return Timestamp.parse(trimmed)
    }

    /// What went wrong with a time that does not parse, for the usage error.
    public static func problem(_ text: String, option: String) -> String {
        "\(option) '\(text)' is not a time: use RFC 3339 (2026-11-20T08:00:00Z) or a time before now (-24h, -7d, -30m)"
    }

    public static func currentNanoseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000_000).rounded())
    }

    /// `7d`, `24h`, `1d12h30m`: number-unit pairs, units s, m, h, d, w.
    private static func relative(_ text: Substring, now: Int64) -> Int64? {
        var total: Int64 = 0
        var number: Int64?
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (value, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                number = value + Int64(digit)
                continue
            }
            guard let count = number, let unit = unitSeconds[character] else { return nil }
            let (seconds, overflow) = count.multipliedReportingOverflow(by: unit)
            guard !overflow, seconds < Int64.max / 1_000_000_000 - total else { return nil }
            total += seconds
            number = nil
        }
        guard number == nil, total > 0 || text.contains(where: { unitSeconds[$0] != nil }) else { return nil }
        return now - total * 1_000_000_000
    }

    private static let unitSeconds: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
}

/// The events a replay takes: stageTimestamp at or after `from` and, with a `to`, before it.
public struct ReplayRange: Sendable, Equatable, CustomStringConvertible {
    /// ns since the epoch.
    public let from: Int64
    /// ns since the epoch, exclusive; nil: up to the newest event at the start of the replay.
    public let to: Int64?

    public init(from: Int64, to: Int64? = nil) {
        self.from = from
        self.to = to
    }

    /// The event times the evaluator keeps.
    public var window: Range<Int64> { from..<(to ?? Int64.max) }

    public var description: String {
        "from \(Timestamp.rfc3339(from))" + (to.map { " to \(Timestamp.rfc3339($0))" } ?? " to now")
    }

    /// How far Kafka's time of a message (when ingress wrote it) may lie from its stageTimestamp: apiservers
    /// send their audit batches late and clocks differ. The Kafka offsets looked up by time are widened by
    /// this much on both sides; the events' own times then decide exactly.
    public static let kafkaTimeSlack: Int64 = 5 * 60 * 1_000_000_000

    /// The Kafka time (ms) from which offsets are looked up.
    var kafkaFromMilliseconds: Int64 { max(0, (from - Self.kafkaTimeSlack) / 1_000_000) }
    /// The Kafka time (ms) up to which offsets are read; nil: to the end at the start of the replay.
    var kafkaToMilliseconds: Int64? { to.map { ($0 + Self.kafkaTimeSlack) / 1_000_000 } }
}
