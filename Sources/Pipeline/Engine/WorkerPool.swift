import Dispatch
import Foundation
import Rules

/// Evaluation threads, one per core by default, each with its own `BatchEvaluator` (evaluators are
/// single-threaded and allocation-free on their hot path: sharing one would need locks). Batches are
/// taken from one queue in the order handed in, by whichever thread is free; the sequencer puts the
/// results of each partition back in order.
final class WorkerPool: Sendable {
    private let queue = WorkQueue<EngineBatch>()
    private let finished = DispatchGroup()
    private let count: Int
    private let rules: CurrentRuleSet
    private let hostname: String
    private let metrics: EngineMetrics
    private let done: @Sendable (EngineBatch, BatchOutcome) -> Void

    init(count: Int, rules: CurrentRuleSet, hostname: String, metrics: EngineMetrics,
         done: @escaping @Sendable (EngineBatch, BatchOutcome) -> Void) {
        self.count = count
        self.rules = rules
        self.hostname = hostname
        self.metrics = metrics
        self.done = done
    }

    func start() {
        for number in 0..<count {
            finished.enter()
            NamedThread.start("engine-worker-\(number)") { [self] in
                work()
                finished.leave()
            }
        }
    }

    func submit(_ batch: EngineBatch) {
        queue.submit(batch)
    }

    /// Batches queued and not yet taken by a thread.
    var queued: Int { queue.queued }

    /// Lets the threads finish what is queued, then waits for them to end.
    func stop() {
        guard queue.stop(takers: count) else { return }
        finished.wait()
    }

    private func work() {
        var (ruleSet, generation) = rules.current
        var evaluator = BatchEvaluator(ruleSet: ruleSet, hostname: hostname)
        while let batch = queue.take() {
            let now = rules.current
            if now.generation != generation {
                (ruleSet, generation) = now
                evaluator = BatchEvaluator(ruleSet: ruleSet, hostname: hostname)
            }
            let outcome = evaluator.evaluate(batch.raw)
            metrics.evaluated(batch.raw, outcome)
            done(batch, outcome)
        }
    }
}
