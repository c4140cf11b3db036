import Foundation
import Synchronization

/// What a load run did so far, counted by its connections: what was sent, what the ingress acknowledged
/// (200), what it refused and with which status, what was retried, and the acknowledged requests' latencies.
public final class LoadStatistics: Sendable {
    public struct Snapshot: Sendable {
        /// Requests sent (each retry counts again) and the events and bytes in them.
        public var requestsSent = 0
        public var eventsSent = 0
        public var bytesSent = 0
        /// Requests answered 200, and the events the answers counted as accepted or rejected (not audit events).
        public var requestsAcknowledged = 0
        public var eventsAcknowledged = 0
        public var eventsRejected = 0
        /// Answers other than 200, by status; transport errors (no answer) under status 0.
        public var refused: [Int: Int] = [:]
        /// Requests sent again after a 429 or 503 (or no answer).
        public var retries = 0
        /// Requests given up on (a status that resending cannot fix, or too many attempts) and their events.
        public var requestsFailed = 0
        public var eventsFailed = 0
        /// How long each acknowledged request took, from sending to the answer.
        public var latencies: [Duration] = []
        public var elapsed = Duration.zero

        public var seconds: Double {
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }

        public var acknowledgedPerSecond: Double { seconds > 0 ? Double(eventsAcknowledged) / seconds : 0 }

        public func percentile(_ fraction: Double) -> Duration {
            guard !latencies.isEmpty else { return .zero }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
        }
    }

    private let state = Mutex(Snapshot())
    private let started = ContinuousClock.now

    public init() {}

    func sent(events: Int, bytes: Int, retry: Bool) {
        state.withLock {
            $0.requestsSent += 1
            $0.eventsSent += events
            $0.bytesSent += bytes
            if retry { $0.retries += 1 }
        }
    }

    func acknowledged(accepted: Int, rejected: Int, latency: Duration) {
        state.withLock {
            $0.requestsAcknowledged += 1
            $0.eventsAcknowledged += accepted
            $0.eventsRejected += rejected
            $0.latencies.append(latency)
        }
    }

    func refused(status: Int) {
        state.withLock { $0.refused[status, default: 0] += 1 }
    }

    func failed(events: Int) {
        state.withLock {
            $0.requestsFailed += 1
            $0.eventsFailed += events
        }
    }

    public func snapshot() -> Snapshot {
        var snapshot = state.withLock { $0 }
        snapshot.elapsed = ContinuousClock.now - started
        return snapshot
    }
}

/// The load generator's report lines.
public enum LoadReport {
    /// `sent 8,000 events in 20 requests; acknowledged 8,000 events (200); refused: 429 ×2 (retried 2); …`
    public static func summary(_ snapshot: LoadStatistics.Snapshot) -> String {
        var line = "sent \(count(snapshot.eventsSent)) events in \(count(snapshot.requestsSent, "request")) in "
            + "\(String(format: "%.1f", snapshot.seconds)) s; acknowledged \(count(snapshot.eventsAcknowledged)) events "
            + "(\(count(snapshot.requestsAcknowledged, "request")) answered 200, \(rate(snapshot.acknowledgedPerSecond)) events/s)"
        if snapshot.eventsRejected > 0 { line += ", \(count(snapshot.eventsRejected)) of them rejected as not audit events" }
        line += "; refused: " + refusedText(snapshot.refused) + " (retried \(count(snapshot.retries)))"
        if snapshot.requestsFailed > 0 {
            line += "; gave up on \(count(snapshot.requestsFailed, "request")) (\(count(snapshot.eventsFailed)) events)"
        }
        return line + "; latency " + latencies(snapshot)
    }

    /// The interim line: what the last interval did.
    public static func progress(_ now: LoadStatistics.Snapshot, since before: LoadStatistics.Snapshot) -> String {
        let seconds = max(now.seconds - before.seconds, 1e-9)
        var window = now
        window.latencies = Array(now.latencies.dropFirst(before.latencies.count))
        var refusedNow = now.refused
        for (status, times) in before.refused { refusedNow[status, default: 0] -= times }
        return "loadgen \(String(format: "%.0f", now.seconds)) s: \(rate(Double(now.eventsSent - before.eventsSent) / seconds)) events/s sent, "
            + "\(rate(Double(now.eventsAcknowledged - before.eventsAcknowledged) / seconds)) events/s acknowledged, "
            + "refused \(refusedText(refusedNow.filter { $0.value > 0 })); latency \(latencies(window))"
    }

    public static func latencies(_ snapshot: LoadStatistics.Snapshot) -> String {
        "p50 \(milliseconds(snapshot.percentile(0.5))), p90 \(milliseconds(snapshot.percentile(0.9))), "
            + "p99 \(milliseconds(snapshot.percentile(0.99)))"
    }

    static func refusedText(_ refused: [Int: Int]) -> String {
        refused.isEmpty ? "none"
            : refused.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "no answer" : String($0.key)) ×\($0.value)" }
                .joined(separator: ", ")
    }

    public static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(format: "%.1f ms", value)
    }

    public static func rate(_ value: Double) -> String { count(Int(value.rounded())) }

    /// `1 request`, `2 requests`.
    static func count(_ value: Int, _ noun: String) -> String {
        "\(count(value)) \(noun)\(value == 1 ? "" : "s")"
    }

    /// 1234567 as 1,234,567.
    public static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }
}
