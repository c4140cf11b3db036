import Rules
import Synchronization

/// The rule set in force, replaced whole on reload. Workers read it once per batch and make a new
/// evaluator when its generation changed, so a reload never disturbs a batch being evaluated.
public final class CurrentRuleSet: Sendable {
    private let state: Mutex<(ruleSet: RuleSet, generation: UInt64)>

    public init(_ ruleSet: RuleSet) {
        state = Mutex((ruleSet, 0))
    }

    public var current: (ruleSet: RuleSet, generation: UInt64) { state.withLock { $0 } }

    public var ruleSet: RuleSet { current.ruleSet }

    public func replace(with ruleSet: RuleSet) {
        state.withLock { $0 = (ruleSet, $0.generation + 1) }
    }
}
