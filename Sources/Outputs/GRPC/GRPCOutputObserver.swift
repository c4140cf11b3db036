import FalcoOutputsAPI
import Logging
import Metrics
import Synchronization

/// What the `grpc` output reports, per output: how many clients are subscribed, how many alerts
/// wait in the backlog, where alerts went, and every loss (counted and logged; loss logs are
/// throttled to one line per `lossLogInterval` with the count since the last one).
final class GRPCOutputObserver: Sendable {
    typealias FanOut = AlertFanOut<Falco_Outputs_response>

    private let fanOut: FanOut
    private let logger: Logger
    private let subscribers: Gauge
    private let backlog: Gauge
    private let streamed: Counter
    private let backlogged: Counter
    private let sentByGet: Counter
    private let evicted: Counter
    private let droppedOnRestore: Counter
    private let slowDisconnects: Counter
    private let lossLogInterval: Duration
    private let pendingLoss = Mutex<(lastLogged: ContinuousClock.Instant?, count: Int)>((nil, 0))

    init(output: String, fanOut: FanOut, logger: Logger, metrics: any MetricsFactory, lossLogInterval: Duration = .seconds(10)) {
        self.fanOut = fanOut
        var logger = logger
        logger[metadataKey: "output"] = "\(output)"
        self.logger = logger
        self.lossLogInterval = lossLogInterval
        let name = [("output", output)]
        subscribers = Gauge(label: "auditpipe_grpc_subscribers", dimensions: name, factory: metrics)
        backlog = Gauge(label: "auditpipe_grpc_backlog_alerts", dimensions: name, factory: metrics)
        streamed = Counter(label: "auditpipe_grpc_alerts_streamed_total", dimensions: name, factory: metrics)
        backlogged = Counter(label: "auditpipe_grpc_alerts_backlogged_total", dimensions: name, factory: metrics)
        sentByGet = Counter(label: "auditpipe_grpc_alerts_sent_by_get_total", dimensions: name, factory: metrics)
        evicted = Counter(label: "auditpipe_grpc_alerts_dropped_total", dimensions: name + [("reason", "backlog_full")], factory: metrics)
        droppedOnRestore = Counter(label: "auditpipe_grpc_alerts_dropped_total", dimensions: name + [("reason", "client_left")], factory: metrics)
        slowDisconnects = Counter(label: "auditpipe_grpc_slow_subscribers_disconnected_total", dimensions: name, factory: metrics)
        refreshGauges()
    }

    func published(_ outcome: FanOut.Outcome) {
        if outcome.streamed > 0 { streamed.increment(by: outcome.streamed) }
        if outcome.backlogged > 0 { backlogged.increment(by: outcome.backlogged) }
        if outcome.slowSubscribersDisconnected > 0 {
            slowDisconnects.increment(by: outcome.slowSubscribersDisconnected)
            logger.warning("disconnected \(outcome.slowSubscribersDisconnected) gRPC subscriber(s) that fell \(fanOut.limits.subscriberBuffer) alerts behind (subscriber_buffer)")
        }
        if outcome.evicted > 0 {
            evicted.increment(by: outcome.evicted)
            reportLoss(outcome.evicted)
        }
        refreshGauges()
    }

    func subscribed(peer: String, backlog count: Int) {
        logger.info("gRPC subscriber connected", metadata: ["peer": "\(peer)", "backlog_sent": "\(count)"])
        refreshGauges()
    }

    func unsubscribed(peer: String, end: FanOut.End?) {
        let reason = switch end {
        case .tooSlow: "too slow"
        case .shutdown: "shutdown"
        case nil: "client closed the call"
        }
        logger.info("gRPC subscriber left", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        refreshGauges()
    }

    func got(peer: String, count: Int) {
        if count > 0 { sentByGet.increment(by: count) }
        logger.debug("gRPC get answered", metadata: ["peer": "\(peer)", "alerts": "\(count)"])
        refreshGauges()
    }

    /// Backlog alerts a leaving client had taken but not received went back to the backlog;
    /// `dropped` of them did not fit any more.
    func restored(dropped: Int) {
        if dropped > 0 {
            droppedOnRestore.increment(by: dropped)
            logger.warning("dropped \(dropped) alerts a gRPC client took from the backlog but did not receive: the backlog had filled meanwhile")
        }
        refreshGauges()
    }

    /// Logs losses the throttle held back (at shutdown).
    func flushLossLog() {
        let pending = pendingLoss.withLock { state in
            defer { state.count = 0 }
            return state.count
        }
        if pending > 0 {
            logger.warning("dropped \(pending) alerts: no gRPC client subscribed and the backlog (\(fanOut.limits.backlogCapacity) alerts) was full")
        }
    }

    private func reportLoss(_ count: Int) {
        let now = ContinuousClock.now
        let toLog: Int? = pendingLoss.withLock { state in
            state.count += count
            if let last = state.lastLogged, now - last < lossLogInterval { return nil }
            defer { state = (now, 0) }
            return state.count
        }
        if let toLog {
            logger.warning("dropped \(toLog) alerts: no gRPC client subscribed and the backlog (\(fanOut.limits.backlogCapacity) alerts) was full; oldest alerts go first (when_backlog_full: drop_oldest)")
        }
    }

    private func refreshGauges() {
        subscribers.record(fanOut.subscriberCount)
        backlog.record(fanOut.backlogCount)
    }
}
