import Dispatch
import Foundation
import Rules
import Synchronization

/// Evaluation threads, one per core by default, each with its own `BatchEvaluator` (evaluators are
/// single-threaded and allocation-free on their hot path: sharing one would need locks). Batches are
/// taken from one queue in the order handed in, by whichever thread is free; the sequencer puts the
/// results of each partition back in order.
final class WorkerPool: Sendable {
    private struct Queue {
        var jobs: [EngineBatch] = []
        var head = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    /// Counts queued jobs (and, at stop, one wake-up per thread).
    private let available = DispatchSemaphore(value: 0)
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
        queue.withLock { $0.jobs.append(batch) }
        available.signal()
    }

    /// Batches queued and not yet taken by a thread.
    var queued: Int { queue.withLock { $0.jobs.count - $0.head } }

    /// Lets the threads finish what is queued, then waits for them to end.
    func stop() {
        let alreadyStopping = queue.withLock { queue in
            defer { queue.stopping = true }
            return queue.stopping
        }
        guard !alreadyStopping else { return }
        for _ in 0..<count { available.signal() }
        finished.wait()
    }

    private func take() -> EngineBatch? {
        available.wait()
        return queue.withLock { queue in
            guard queue.head < queue.jobs.count else { return nil }
            let job = queue.jobs[queue.head]
            queue.head += 1
            if queue.head == queue.jobs.count {
                queue.jobs.removeAll(keepingCapacity: true)
                queue.head = 0
            } else if queue.head > 1024 {
                queue.jobs.removeFirst(queue.head)
                queue.head = 0
            }
            return job
        }
    }

    private func work() {
        var (ruleSet, generation) = rules.current
        var evaluator = BatchEvaluator(ruleSet: ruleSet, hostname: hostname)
        while let batch = take() {
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
