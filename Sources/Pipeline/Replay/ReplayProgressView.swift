import Dispatch
import Foundation

/// Progress as text: a bar with a cell per partition for terminals, one plain line for logs.
public enum ReplayProgressView {
    /// `replay: 45% of 200000 offsets, 90000 events read (41230/s), 1204 alerts, ETA 3s`
    public static func line(_ snapshot: ReplayProgress.Snapshot, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> String {
        "replay: \(percent(snapshot.fraction)) of \(snapshot.total) offsets, \(snapshot.eventsRead) events read "
            + "(\(Int(snapshot.rate(now: now).rounded()))/s), \(snapshot.alerts) alerts, ETA \(eta(snapshot, now: now))"
    }

    /// The lines of the terminal view, none wider than `width`: the overall bar, then one cell per partition.
    public static func bar(_ snapshot: ReplayProgress.Snapshot, width: Int,
                           now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> [String] {
        let width = max(40, width)
        let status = " \(percent(snapshot.fraction).leftPadded(4))  \(snapshot.eventsRead) events  "
            + "\(Int(snapshot.rate(now: now).rounded()))/s  ETA \(eta(snapshot, now: now))  \(snapshot.alerts) alerts"
        let barWidth = max(10, min(40, width - status.count - 2))
        var lines = ["[" + meter(snapshot.fraction, width: barWidth) + "]" + status]
        // Partition cells: `p12 ▕██▌  ▏` would need a wide font; `12:###-- ` stays ASCII.
        let cells = snapshot.spans.indices.map { index -> String in
            "\(snapshot.spans[index].partition.partition):".leftPadded(4) + meter(snapshot.fraction(of: index), width: 5)
        }
        let perLine = max(1, (width + 1) / 10)
        for start in stride(from: 0, to: cells.count, by: perLine) {
            lines.append(cells[start..<min(cells.count, start + perLine)].joined(separator: " "))
        }
        return lines.map { String($0.prefix(width)) }
    }

    static func meter(_ fraction: Double, width: Int) -> String {
        let filled = Int((min(1, max(0, fraction)) * Double(width)).rounded(.down))
        return String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    }

    static func percent(_ fraction: Double) -> String { "\(Int((min(1, max(0, fraction)) * 100).rounded(.down)))%" }

    static func eta(_ snapshot: ReplayProgress.Snapshot, now: UInt64) -> String {
        if snapshot.finished { return "0s" }
        guard let seconds = snapshot.remainingSeconds(now: now) else { return "?" }
        let total = Int(seconds.rounded(.up))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(total % 60).leftPadded(2, "0"))s" }
        return "\(total / 3600)h\(String(total % 3600 / 60).leftPadded(2, "0"))m"
    }
}

extension String {
    func leftPadded(_ width: Int, _ pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
