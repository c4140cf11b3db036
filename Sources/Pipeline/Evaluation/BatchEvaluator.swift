import Dispatch
import Rules

/// What evaluating a batch gave, in event order: the alerts (already encoded as JSON, so that
/// encoding runs on the evaluating thread) and the events that were not audit events.
public struct BatchOutcome: Sendable {
    public enum Item: Sendable {
        /// An alert on the batch's event at index `event`.
        case alert(Alert, json: [UInt8], event: Int)
        /// The batch's event at index `event` is not JSON or not an audit event.
        case reject(event: Int, reason: String)
    }

    public var items: [Item] = []
    /// The version of the rules that evaluated the batch (`RuleSet.version`).
    public let rulesVersion: String
    public var evaluationNanoseconds: UInt64 = 0
    /// Audit events left out because their time was outside the window asked for (replay's range).
    public var outsideWindow = 0

    public init(rulesVersion: String) {
        self.rulesVersion = rulesVersion
    }

    public var alerts: [Alert] {
        items.compactMap { if case .alert(let alert, _, _) = $0 { alert } else { nil } }
    }

    public var rejectCount: Int {
        items.count { if case .reject = $0 { true } else { false } }
    }
}

/// The evaluation core of the engine and of replay: raw events in, alerts and rejects out, in
/// event order, with the same alerts (and ids) whoever calls it. Owns a `RuleEvaluator`, so it
/// is used by one thread at a time: make one per worker. Allocates nothing per event that does
/// not alert beyond what the evaluator does (nothing).
public final class BatchEvaluator {
    public let ruleSet: RuleSet
    private let evaluator: RuleEvaluator

    public init(ruleSet: RuleSet, hostname: String = RuleSet.defaultHostname) {
        self.ruleSet = ruleSet
        evaluator = ruleSet.makeEvaluator(hostname: hostname)
    }

    /// Evaluates every event of the batch; with a `window` (ns since the epoch), only the audit events whose
    /// stageTimestamp lies in it (the others are counted in `outsideWindow`).
    public func evaluate(_ batch: RawBatch, within window: Range<Int64>? = nil) -> BatchOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        var outcome = BatchOutcome(rulesVersion: ruleSet.version)
        let topic = batch.partition.topic, partition = batch.partition.partition
        for index in 0..<batch.count {
            let origin = Alert.Origin(topic: topic, partition: partition, offset: batch.events[index].offset)
            do {
                let inWindow = try batch.withValue(of: index) { bytes in
                    try evaluator.evaluate(bytes, cluster: batch.cluster(of: index), origin: origin, within: window) { alert in
                        outcome.items.append(.alert(alert, json: Array(AlertEncoder.json(alert).utf8), event: index))
                    }
                }
                if !inWindow { outcome.outsideWindow += 1 }
            } catch let rejection as EventRejection {
                outcome.items.append(.reject(event: index, reason: rejection.reason))
            } catch {
                outcome.items.append(.reject(event: index, reason: "cannot evaluate: \(error)"))
            }
        }
        outcome.evaluationNanoseconds = DispatchTime.now().uptimeNanoseconds - start
        return outcome
    }
}
