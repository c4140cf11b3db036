import Logging
import Metrics
import Rules

/// What the sink read for an output, in the order it was read: an alert, or a message that is
/// not one (dead-lettered with the reason, never stalling the partition).
public enum DeliveryItem: Sendable {
    case alert(OutputAlert)
    case undecodable(value: [UInt8], key: [UInt8]?, reason: String)
}

/// The one delivery policy every output shares (DESIGN.md, "Delivery and backpressure"):
/// - alerts below `minimum_priority` are skipped (filtered, not lost);
/// - an alert whose `id` was delivered within `dedup_window` is skipped (de-duplicated);
/// - custom and templated fields are added to the alert's output_fields;
/// - alerts go out in batches of at most `batch.max_size` (bounded by the output's `maxBatchSize`),
///   at most `rate_limit` deliveries a second, each attempt bounded by `timeout`;
/// - a transient failure is retried with exponential backoff and full jitter (or after the
///   service's Retry-After), up to `retry.max_attempts` attempts in all;
/// - a permanent failure, or a transient one past the last attempt, dead-letters the alert (a
///   refused batch is first retried alert by alert, so only the alerts the service refuses go).
///
/// One policy per output, used by one task at a time.
public final class DeliveryPolicy {
    public let output: any AlertOutput
    public let settings: OutputSettings
    /// Alerts per delivery: `batch.max_size` when set, bounded by what the output takes.
    public let batchSize: Int
    private let enricher: AlertEnricher
    private let backoff: RetryBackoff
    private var recentIDs: RecentAlertIDs
    private var rateLimiter: RateLimiter?
    private let deadLetters: DeadLetterWriter
    private let metrics: OutputMetrics
    private let stop: StopSignal
    private let logger: Logger

    public init(output: any AlertOutput, settings: OutputSettings, deadLetters: DeadLetterWriter,
                metrics: OutputMetrics, stop: StopSignal, logger: Logger,
                dedupCapacity: Int = RecentAlertIDs.defaultCapacity) throws(FieldTemplate.SyntaxError) {
        self.output = output
        self.settings = settings
        batchSize = max(1, min(settings.batch.maxSize ?? output.maxBatchSize, output.maxBatchSize))
        enricher = try AlertEnricher(customFields: settings.customFields, templatedFields: settings.templatedFields)
        backoff = RetryBackoff(settings.retry)
        recentIDs = RecentAlertIDs(window: settings.dedupWindow.duration, capacity: dedupCapacity)
        rateLimiter = settings.rateLimit.map { RateLimiter(perSecond: $0) }
        self.deadLetters = deadLetters
        self.metrics = metrics
        self.stop = stop
        var logger = logger
        logger[metadataKey: "output"] = "\(output.name)"
        self.logger = logger
    }

    /// Delivers items in order and returns how many of them, from the first, are done: delivered,
    /// dead-lettered, filtered or de-duplicated. That is all of them unless the stop signal came,
    /// in which case what follows the count is left for the next run (its offsets uncommitted).
    public func process(_ items: [DeliveryItem]) async -> Int {
        var done = 0
        var batch: [(index: Int, alert: OutputAlert)] = []
        var batchIDs = Set<String>()
        for (index, item) in items.enumerated() {
            switch item {
            case .undecodable(let value, let key, let reason):
                if !batch.isEmpty {
                    guard await deliver(batch.map(\.alert)) else { return done }
                    batch.removeAll(keepingCapacity: true)
                    done = index
                }
                logger.error("a message on the alerts topic is not an alert; dead-lettering it", metadata: ["reason": "\(reason)"])
                let letter = DeadLetterWriter.Letter(value: value, key: key, output: output.name, error: reason, attempts: 0)
                guard await deadLetters.write([letter], stop: stop) else { return done }
                metrics.deadLettered.increment()
                done = index + 1
            case .alert(let alert):
                if alert.alert.priority > settings.minimumPriority {
                    metrics.filtered.increment()
                } else if recentIDs.contains(alert.alert.id) || batchIDs.contains(alert.alert.id) {
                    metrics.deduplicated.increment()
                } else {
                    batchIDs.insert(alert.alert.id)
                    batch.append((index, alert))
                    if batch.count == batchSize {
                        guard await deliver(batch.map(\.alert)) else { return done }
                        done = index + 1
                        batch.removeAll(keepingCapacity: true)
                    }
                    continue
                }
                // Skipped alerts are done as soon as nothing before them is pending.
                if batch.isEmpty { done = index + 1 }
            }
        }
        if !batch.isEmpty {
            guard await deliver(batch.map(\.alert)) else { return done }
        }
        return items.count
    }

    /// Delivers one batch, retrying and dead-lettering as needed; false only when stopped first.
    private func deliver(_ alerts: [OutputAlert]) async -> Bool {
        let enriched = alerts.map { enricher.apply($0) }
        var attempt = 0
        while true {
            attempt += 1
            if var limiter = rateLimiter {
                let slot = limiter.reserve()
                rateLimiter = limiter
                guard await stop.sleep(until: slot) else { return false }
            }
            let started = ContinuousClock.now
            let failure: DeliveryFailure
            do {
                try await attemptDelivery(enriched)
                metrics.latency.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
                metrics.delivered.increment(by: alerts.count)
                for alert in alerts { recentIDs.insert(alert.alert.id) }
                return true
            } catch let error as DeliveryFailure {
                failure = error
            } catch {
                failure = .transient("\(error)")
            }
            switch failure.kind {
            case .permanent where alerts.count > 1:
                logger.warning("the output refused a batch; retrying its alerts one by one",
                               metadata: ["alerts": "\(alerts.count)", "error": "\(failure.reason)"])
                for alert in alerts {
                    guard await deliver([alert]) else { return false }
                }
                return true
            case .permanent:
                return await deadLetter(alerts, error: failure.reason, attempts: attempt)
            case .transient(let retryAfter):
                guard attempt < settings.retry.maxAttempts else {
                    return await deadLetter(alerts, error: "gave up after \(attempt) attempts: \(failure.reason)",
                                            attempts: attempt)
                }
                let delay = backoff.delay(retry: attempt, retryAfter: retryAfter)
                metrics.retried.increment()
                logger.warning("delivery failed; retrying", metadata: [
                    "alerts": "\(alerts.count)", "attempt": "\(attempt)", "retry_in": "\(delay)", "error": "\(failure.reason)",
                ])
                guard await stop.sleep(for: delay) else { return false }
            }
        }
    }

    /// One call of the output, bounded by the output's timeout.
    private func attemptDelivery(_ alerts: [OutputAlert]) async throws {
        let output = self.output
        let timeout = settings.timeout.duration
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await output.deliver(alerts) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw DeliveryFailure.transient("no answer within \(timeout)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func deadLetter(_ alerts: [OutputAlert], error: String, attempts: Int) async -> Bool {
        logger.error("dead-lettering alerts", metadata: [
            "alerts": "\(alerts.count)", "attempts": "\(attempts)", "error": "\(error)",
            "ids": "\(alerts.map(\.alert.id).joined(separator: ","))",
        ])
        let letters = alerts.map {
            DeadLetterWriter.Letter(value: $0.json, key: $0.key, output: output.name, error: error, attempts: attempts)
        }
        guard await deadLetters.write(letters, stop: stop) else { return false }
        metrics.deadLettered.increment(by: alerts.count)
        return true
    }
}
