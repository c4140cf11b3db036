import Dispatch
import Synchronization

/// Jobs for evaluation threads (the engine's and replay's): handed in by one thread, taken in that order by
/// whichever thread is free. With a capacity, `submit` waits for room, so a fast reader cannot outrun the
/// workers by more than that many jobs.
final class WorkQueue<Job: Sendable>: Sendable {
    private struct State {
        var jobs: [Job] = []
        var head = 0
        var stopping = false
    }

    private let state = Mutex(State())
    /// Counts queued jobs (and, at stop, one wake-up per taker).
    private let available = DispatchSemaphore(value: 0)
    /// Free places, when bounded.
    private let room: DispatchSemaphore?

    init(capacity: Int? = nil) {
        room = capacity.map { DispatchSemaphore(value: max(1, $0)) }
    }

    func submit(_ job: Job) {
        room?.wait()
        state.withLock { $0.jobs.append(job) }
        available.signal()
    }

    /// Jobs queued and not yet taken.
    var queued: Int { state.withLock { $0.jobs.count - $0.head } }

    /// The next job; waits for one. Nil once stopped and empty.
    func take() -> Job? {
        available.wait()
        let job: Job? = state.withLock { state in
            guard state.head < state.jobs.count else { return nil }
            let job = state.jobs[state.head]
            state.head += 1
            if state.head == state.jobs.count {
                state.jobs.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 {
                state.jobs.removeFirst(state.head)
                state.head = 0
            }
            return job
        }
        if job != nil { room?.signal() }
        return job
    }

    /// Lets `takers` threads end once the queue is empty. False when already stopped.
    @discardableResult
    func stop(takers: Int) -> Bool {
        let first = state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return false }
        for _ in 0..<takers { available.signal() }
        return true
    }
}
