import NIOCore
import Synchronization

/// The heart of the `grpc` output: hands every alert to every live `sub` stream, and keeps the
/// alerts no stream took (nobody was subscribed) for the next `get` or the next `sub`, as Falco's
/// queue does — but bounded, and with every loss counted.
///
/// - Each subscriber has a buffer of its own (`subscriberBuffer` alerts). One that falls that far
///   behind is disconnected (its call ends with RESOURCE_EXHAUSTED once it has read what is
///   buffered), so a slow client never slows delivery nor the other subscribers.
/// - The backlog holds at most `backlogCapacity` alerts. When it is full, `GRPCBacklogPolicy` decides:
///   drop the oldest (counted, the default), or refuse the batch so the delivery policy retries it
///   later (and dead-letters it past the retry budget): Kafka keeps what no client took yet.
final class AlertFanOut<Message: Sendable>: Sendable {
    struct Limits: Sendable {
        var backlogCapacity: Int
        var subscriberBuffer: Int
        var whenBacklogFull: GRPCBacklogPolicy
    }

    /// What one `publish` did, for metrics and logs.
    struct Outcome: Sendable, Equatable {
        /// Alerts handed to at least one subscriber.
        var streamed = 0
        /// Alerts kept for a later `get`/`sub` (nobody was subscribed).
        var backlogged = 0
        /// Old backlog alerts evicted to make room: these reached nobody.
        var evicted = 0
        /// Subscribers disconnected because their buffer was full.
        var slowSubscribersDisconnected = 0
    }

    /// The backlog is full and the policy is `reject`.
    struct BacklogFull: Error, Sendable {
        let capacity: Int
    }

    /// Why a subscription's alerts stopped.
    enum End: Sendable, Equatable {
        /// It fell `subscriberBuffer` alerts behind and was disconnected.
        case tooSlow(buffered: Int)
        /// The output is shutting down.
        case shutdown
    }

    /// One `sub` call's share of the alerts: what the backlog held when it subscribed, then every
    /// alert published after, in order.
    final class Subscription: Sendable {
        let id: UInt64
        let backlog: [Message]
        let alerts: AsyncStream<Message>
        fileprivate let continuation: AsyncStream<Message>.Continuation
        private let ending = Mutex<End?>(nil)

        fileprivate init(id: UInt64, backlog: [Message], buffer: Int) {
            self.id = id
            self.backlog = backlog
            (alerts, continuation) = AsyncStream.makeStream(of: Message.self, bufferingPolicy: .bufferingOldest(buffer))
        }

        /// Set once `alerts` has ended for a reason of the server's (nil: the client left).
        var end: End? { ending.withLock { $0 } }

        fileprivate func finish(_ end: End) {
            ending.withLock { $0 = $0 ?? end }
            continuation.finish()
        }
    }

    private struct State {
        var subscriptions: [UInt64: Subscription] = [:]
        var nextID: UInt64 = 0
        var backlog = CircularBuffer<Message>()
        var closed = false
    }

    let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits) {
        precondition(limits.backlogCapacity >= 0 && limits.subscriberBuffer >= 1)
        self.limits = limits
    }

    var subscriberCount: Int { state.withLock { $0.subscriptions.count } }
    var backlogCount: Int { state.withLock { $0.backlog.count } }

    /// Hands each message to every subscriber, or to the backlog when there is none.
    func publish(_ messages: [Message]) throws(BacklogFull) -> Outcome {
        try state.withLock { state throws(BacklogFull) in
            var outcome = Outcome()
            if state.subscriptions.isEmpty, limits.whenBacklogFull == .reject,
               state.backlog.count + messages.count > limits.backlogCapacity {
                throw BacklogFull(capacity: limits.backlogCapacity)
            }
            for message in messages {
                var taken = false
                for (id, subscription) in state.subscriptions {
                    let result = subscription.continuation.yield(message)
                    if case .enqueued = result {
                        taken = true
                    } else if case .dropped = result {
                        state.subscriptions[id] = nil
                        subscription.finish(.tooSlow(buffered: limits.subscriberBuffer))
                        outcome.slowSubscribersDisconnected += 1
                    } else {
                        // Its call already ended.
                        state.subscriptions[id] = nil
                    }
                }
                if taken {
                    outcome.streamed += 1
                    continue
                }
                // Nobody took it (no subscriber, or the last one was just disconnected): keep it.
                guard limits.backlogCapacity > 0 else {
                    outcome.evicted += 1
                    continue
                }
                if state.backlog.count == limits.backlogCapacity {
                    state.backlog.removeFirst()
                    outcome.evicted += 1
                }
                state.backlog.append(message)
                outcome.backlogged += 1
            }
            return outcome
        }
    }

    /// A new `sub` stream: it takes the whole backlog and every alert published from now on.
    /// nil once the output shut down.
    func subscribe() -> Subscription? {
        state.withLock { state in
            guard !state.closed else { return nil }
            state.nextID += 1
            let subscription = Subscription(id: state.nextID, backlog: Array(state.backlog), buffer: limits.subscriberBuffer)
            state.backlog.removeAll(keepingCapacity: true)
            state.subscriptions[subscription.id] = subscription
            return subscription
        }
    }

    /// Ends a subscription whose client left (or whose call ended).
    func unsubscribe(_ subscription: Subscription) {
        _ = state.withLock { $0.subscriptions.removeValue(forKey: subscription.id) }
        subscription.continuation.finish()
    }

    /// `get`: everything the backlog holds, which leaves it.
    func takeBacklog() -> [Message] {
        state.withLock { state in
            let messages = Array(state.backlog)
            state.backlog.removeAll(keepingCapacity: true)
            return messages
        }
    }

    /// Puts back, at the front, backlog alerts a `get` or `sub` took but could not send (its client
    /// left), so the next one gets them; the oldest of them are dropped if the backlog filled
    /// meanwhile. Returns how many were dropped.
    func restore(_ messages: some Collection<Message>) -> Int {
        state.withLock { state in
            var dropped = 0
            for message in messages.reversed() {
                guard state.backlog.count < limits.backlogCapacity else {
                    dropped += 1
                    continue
                }
                state.backlog.prepend(message)
            }
            return dropped
        }
    }

    /// Ends every subscription (their calls end normally) and refuses new ones.
    func close() {
        let subscriptions = state.withLock { state in
            state.closed = true
            defer { state.subscriptions.removeAll() }
            return Array(state.subscriptions.values)
        }
        for subscription in subscriptions { subscription.finish(.shutdown) }
    }
}
