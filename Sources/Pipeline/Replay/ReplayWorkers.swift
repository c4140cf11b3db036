import Dispatch

/// Evaluation threads for replay, one per core by default. Each thread builds its own handler (its own
/// evaluators: they are single-threaded) and takes batches from one bounded queue: the reader waits when
/// the workers are behind, so memory stays bounded however long the range.
final class ReplayWorkers: Sendable {
    private let queue: WorkQueue<RawBatch>
    private let finished = DispatchGroup()
    private let count: Int

    /// `makeHandler` runs once on each thread; the handler it returns evaluates that thread's batches.
    init(count: Int, capacity: Int, makeHandler: @escaping @Sendable () -> (RawBatch) -> Void) {
        self.count = max(1, count)
        queue = WorkQueue(capacity: capacity)
        for number in 0..<self.count {
            finished.enter()
            NamedThread.start("replay-worker-\(number)") { [self] in
                let handle = makeHandler()
                while let batch = queue.take() { handle(batch) }
                finished.leave()
            }
        }
    }

    /// Queues a batch; waits while the queue is full.
    func submit(_ batch: RawBatch) {
        queue.submit(batch)
    }

    /// Lets the threads finish what is queued, then waits for them to end.
    func finish() {
        guard queue.stop(takers: count) else { return }
        finished.wait()
    }
}
