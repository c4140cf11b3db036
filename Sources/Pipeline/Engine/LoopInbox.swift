import Dispatch
import Kafka
import Synchronization

/// How other threads talk to the consumer thread (which alone may touch the consumer): they post,
/// it takes everything posted between two polls, or waits for news while it cannot poll (during a
/// revocation, which runs inside a poll).
final class LoopInbox: Sendable {
    enum Message: Sendable {
        case acknowledged(BatchReceipt)
        /// Graceful shutdown: finish what was read, commit, leave the group.
        case stop
        /// The producer cannot go on (librdkafka's fatal error): stop without committing more.
        case fatal(KafkaError)
    }

    private struct State {
        var messages: [Message] = []
        var waiting = false
    }

    private let state = Mutex(State())
    private let bell = DispatchSemaphore(value: 0)

    func post(_ message: Message) {
        let ring = state.withLock { state in
            state.messages.append(message)
            defer { state.waiting = false }
            return state.waiting
        }
        if ring { bell.signal() }
    }

    /// Everything posted so far; if nothing, waits up to `timeout` for something.
    func take(waitingUpTo timeout: Duration? = nil) -> [Message] {
        let messages = state.withLock { state in
            defer { state.messages.removeAll(keepingCapacity: true) }
            if state.messages.isEmpty, timeout != nil { state.waiting = true }
            return state.messages
        }
        guard messages.isEmpty, let timeout else { return messages }
        // A ring that comes after the timeout leaves the semaphore signalled: the next wait returns
        // at once and finds nothing, which is harmless.
        _ = bell.wait(timeout: .now() + .nanoseconds(Int(Monotonic.nanoseconds(timeout))))
        return state.withLock { state in
            state.waiting = false
            defer { state.messages.removeAll(keepingCapacity: true) }
            return state.messages
        }
    }
}
