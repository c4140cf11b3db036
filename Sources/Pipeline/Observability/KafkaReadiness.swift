import Dispatch
import Kafka
import Synchronization

/// `/readyz` for stages that need Kafka: ready when a broker answers a metadata request within `timeout`.
/// The answer is kept for `cacheFor`, and concurrent probes share one request, so a scraper polling /readyz
/// often costs Kafka almost nothing and never piles up blocked threads.
public final class KafkaReadiness: Sendable {
    private let admin: KafkaAdmin
    private let timeout: Duration
    private let cacheFor: Duration
    private let state = Mutex(State())

    private struct State {
        var last: (readiness: Readiness, at: ContinuousClock.Instant)?
        var waiters: [CheckedContinuation<Readiness, Never>] = []
        var checking = false
    }

    public init(admin: KafkaAdmin, timeout: Duration = .seconds(2), cacheFor: Duration = .seconds(1)) {
        self.admin = admin
        self.timeout = timeout
        self.cacheFor = cacheFor
    }

    public func check() async -> Readiness {
        await withCheckedContinuation { continuation in
            let start: Bool = state.withLock { state in
                if let last = state.last, ContinuousClock.now - last.at < cacheFor {
                    continuation.resume(returning: last.readiness)
                    return false
                }
                state.waiters.append(continuation)
                if state.checking { return false }
                state.checking = true
                return true
            }
            guard start else { return }
            // librdkafka's metadata call blocks: run it on a dispatch thread, not on Swift's cooperative pool.
            DispatchQueue.global().async { [self] in
                let readiness: Readiness
                do {
                    let brokers = try admin.brokerCount(timeout: timeout)
                    readiness = brokers > 0 ? .ready : .notReady("kafka: no broker in the cluster metadata")
                } catch {
                    readiness = .notReady("kafka unreachable: \(error)")
                }
                let waiters = state.withLock { state in
                    state.last = (readiness, .now)
                    state.checking = false
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: readiness) }
            }
        }
    }
}
