import Foundation
import Kafka
import Logging
import Synchronization

/// The one thread that owns the Kafka consumer (librdkafka's consumer is not for concurrent use): it
/// polls, batches, hands batches to the workers, applies acknowledgements, commits, pauses and
/// resumes fetching, and handles rebalances. Everything else reaches it through its inbox.
///
/// Its state is touched by its own thread only (rebalance callbacks run inside its polls), which is
/// why it can be `@unchecked Sendable`: other threads use `inbox`, `status` and `join` alone.
final class ConsumerLoop: @unchecked Sendable {
    struct Options {
        var rawTopic: String
        var maxEvents: Int
        var maxWait: Duration
        var commitInterval: Duration
        var revokeTimeout: Duration
        var shutdownTimeout: Duration
        var flow: FlowControl
        /// Messages taken per poll call, so that the loop comes up for air under load.
        var pollChunk = 2000
    }

    /// What other threads may know of the loop.
    struct Status: Sendable {
        var joined = false
        var draining = false
        var assigned: [TopicPartition] = []
        var committed: [TopicPartition: Int64] = [:]
    }

    let inbox: LoopInbox
    private let statusBox = Mutex(Status())
    private let options: Options
    private let workers: WorkerPool
    private let sequencer: PartitionSequencer
    private let metrics: EngineMetrics
    private let logger: Logger
    private let producerQueued: @Sendable () -> Int
    typealias ConsumerFactory = (@escaping @Sendable (RebalanceEvent) -> Void,
                                 @escaping @Sendable (CommitResult) -> Void) throws -> KafkaConsumer
    private let makeConsumer: ConsumerFactory
    private let ended = Mutex<(done: Bool, error: (any Error)?, waiters: [CheckedContinuation<Void, any Error>])>((false, nil, []))

    // Consumer-thread state.
    private var consumer: KafkaConsumer?
    private var batcher: Batcher
    private var tracker = CommitTracker()
    private var flow: FlowControl
    private var generation: UInt64 = 0
    private var lanes: [TopicPartition: BatchLane] = [:]
    private var paused = Set<TopicPartition>()
    private var unacknowledgedBytes = 0
    private var lastCommit: UInt64 = 0
    private var stopRequested = false
    private var drainDeadline: UInt64?
    private var fatal: KafkaError?

    init(options: Options, workers: WorkerPool, sequencer: PartitionSequencer, metrics: EngineMetrics, logger: Logger,
         inbox: LoopInbox, producerQueued: @escaping @Sendable () -> Int,
         makeConsumer: @escaping ConsumerFactory) {
        self.options = options
        self.inbox = inbox
        self.workers = workers
        self.sequencer = sequencer
        self.metrics = metrics
        self.logger = logger
        self.producerQueued = producerQueued
        self.makeConsumer = makeConsumer
        batcher = Batcher(topic: options.rawTopic, maxEvents: options.maxEvents, maxWait: options.maxWait)
        flow = options.flow
    }

    var status: Status { statusBox.withLock { $0 } }

    func start() {
        NamedThread.start("engine-consumer") { [self] in
            var failure: (any Error)?
            do { try run() } catch { failure = error }
            consumer = nil
            let waiters = ended.withLock { ended in
                ended.done = true
                ended.error = failure
                defer { ended.waiters = [] }
                return ended.waiters
            }
            for waiter in waiters {
                if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
            }
        }
    }

    /// Waits until the loop has ended (after `stop`, or on a fatal error, which it throws).
    func join() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, any Error>? = ended.withLock { ended in
                guard ended.done else {
                    ended.waiters.append(continuation)
                    return nil
                }
                return ended.error.map { .failure($0) } ?? .success(())
            }
            if let result { continuation.resume(with: result) }
        }
    }

    // MARK: - The consumer thread

    private func run() throws {
        let consumer = try makeConsumer({ [weak self] event in self?.rebalanced(event) },
                                        { [weak self] result in self?.commitFinished(result) })
        self.consumer = consumer
        try consumer.subscribe([options.rawTopic])
        logger.info("consuming", metadata: ["topic": "\(options.rawTopic)"])
        while true {
            takeInbox(waitingUpTo: nil)
            if let fatal {
                drainDeadline = Monotonic.now
                throw fatal
            }
            let now = Monotonic.now
            if stopRequested, drainDeadline == nil { beginDrain(now: now) }
            if let drainDeadline {
                if tracker.uncommitted == 0 { break }
                if now >= drainDeadline {
                    logger.warning("shutdown: batches still unacknowledged are left uncommitted",
                                   metadata: ["batches": "\(tracker.uncommitted)"])
                    break
                }
            }
            for batch in batcher.closeExpired(now: now) { handOut(batch) }
            applyFlowControl()
            if now &- lastCommit >= Monotonic.nanoseconds(options.commitInterval) { commit(synchronously: false) }
            try consumer.poll(maxMessages: options.pollChunk, timeout: pollTimeout(now: now)) { message in
                guard drainDeadline == nil else { return }
                if let full = batcher.add(message, now: Monotonic.now) { handOut(full) }
            }
        }
        commit(synchronously: true)
        statusBox.withLock { $0.draining = true }
        consumer.close()
        logger.info("left the consumer group")
    }

    /// Until the next batch must close; shorter while acknowledgements are due (commits and resumes
    /// wait for the next turn of the loop), longer when idle.
    private func pollTimeout(now: UInt64) -> Duration {
        let busy = tracker.uncommitted > 0 || flow.paused || drainDeadline != nil
        var timeout: UInt64 = busy ? 10_000_000 : 100_000_000
        if let deadline = batcher.nextDeadline { timeout = min(timeout, deadline > now ? deadline - now : 0) }
        return .nanoseconds(Int64(timeout))
    }

    private func handOut(_ batch: EngineBatch) {
        tracker.handedOut(batch)
        unacknowledgedBytes += batch.raw.byteCount
        workers.submit(batch)
    }

    /// Applies what other threads posted: acknowledgements, stop, fatal errors.
    private func takeInbox(waitingUpTo timeout: Duration?) {
        for message in inbox.take(waitingUpTo: timeout) {
            switch message {
            case .acknowledged(let receipt):
                unacknowledgedBytes -= receipt.bytes
                tracker.acknowledged(receipt.lane, sequence: receipt.sequence)
                metrics.batchLatency.recordNanoseconds(Int64(Monotonic.now &- receipt.closedAt))
                if receipt.oldestTimestamp > 0 {
                    let age = Int64(Date().timeIntervalSince1970 * 1000) - receipt.oldestTimestamp
                    metrics.endToEndLatency.recordMilliseconds(max(0, age))
                }
            case .stop:
                stopRequested = true
            case .fatal(let error):
                fatal = error
            }
        }
    }

    private func applyFlowControl() {
        let load = FlowControl.Load(uncommittedBatches: tracker.uncommitted,
                                    unacknowledgedBytes: unacknowledgedBytes + batcher.openBytes,
                                    producerQueued: producerQueued())
        metrics.inFlightBatches.record(load.uncommittedBatches)
        metrics.inFlightBytes.record(load.unacknowledgedBytes)
        switch flow.decide(load) {
        case .pause(let reason):
            logger.notice("pausing fetching", metadata: ["reason": "\(reason)"])
            pause(Set(lanes.keys).subtracting(paused))
        case .resume:
            logger.notice("resuming fetching")
            resume(paused)
        case .keep:
            break
        }
    }

    private func pause(_ partitions: Set<TopicPartition>) { setFetching(partitions, paused: true) }

    private func resume(_ partitions: Set<TopicPartition>) { setFetching(partitions, paused: false) }

    private func setFetching(_ partitions: Set<TopicPartition>, paused pausing: Bool) {
        guard !partitions.isEmpty, let consumer else { return }
        do {
            if pausing {
                try consumer.pause(Array(partitions))
                paused.formUnion(partitions)
            } else {
                try consumer.resume(Array(partitions))
                paused.subtract(partitions)
            }
        } catch {
            logger.error("cannot \(pausing ? "pause" : "resume") partitions", metadata: ["error": "\(error)"])
        }
        metrics.pausedPartitions.record(paused.count)
    }

    /// Commits what moved: asynchronously in the loop (confirmed by `commitFinished`), synchronously
    /// before partitions are released. Offsets count as committed only once Kafka said so: a failed
    /// commit (during a rebalance, say) is simply made again.
    private func commit(synchronously: Bool, only: Set<TopicPartition>? = nil) {
        lastCommit = Monotonic.now
        let offsets = tracker.commits(only: only)
        guard !offsets.isEmpty, let consumer else { return }
        do {
            try consumer.commit(offsets, asynchronously: !synchronously)
            if synchronously { confirmCommitted(offsets) }
        } catch {
            metrics.commitFailures.increment()
            logger.warning("commit failed; offsets are committed again with the next commit", metadata: ["error": "\(error)"])
        }
    }

    /// The result of a commit (inside poll, on this thread).
    private func commitFinished(_ result: CommitResult) {
        if !result.committed.isEmpty { confirmCommitted(result.committed) }
        if let (partition, error) = result.failed.first {
            metrics.commitFailures.increment()
            logger.warning("commit failed; offsets are committed again with the next commit",
                           metadata: ["partitions": "\(result.failed.count)", "first": "\(partition)", "error": "\(error)"])
        }
    }

    private func confirmCommitted(_ offsets: [TopicPartition: Int64]) {
        tracker.committed(offsets)
        metrics.commits.increment()
        statusBox.withLock { status in
            for (partition, offset) in offsets where lanes[partition] != nil { status.committed[partition] = offset }
        }
    }

    /// Graceful shutdown: stop fetching, close the open batches, and let the loop wait for them.
    private func beginDrain(now: UInt64) {
        drainDeadline = now + Monotonic.nanoseconds(options.shutdownTimeout)
        statusBox.withLock { $0.draining = true }
        pause(Set(lanes.keys).subtracting(paused))
        for batch in batcher.closeAll(now: now) { handOut(batch) }
        logger.info("shutting down: finishing batches in flight", metadata: ["batches": "\(tracker.uncommitted)"])
    }

    // MARK: - Rebalances (inside poll, on the consumer thread)

    private func rebalanced(_ event: RebalanceEvent) {
        metrics.rebalances.increment()
        switch event {
        case .assigned(let partitions): assigned(partitions)
        case .revoked(let partitions): revoked(partitions)
        }
        statusBox.withLock { status in
            status.joined = true
            status.assigned = lanes.keys.sorted()
            status.committed = status.committed.filter { lanes[$0.key] != nil }
        }
        metrics.assignedPartitions.record(lanes.count)
    }

    private func assigned(_ partitions: [TopicPartition]) {
        generation += 1
        // Where the group stands on these partitions (for lag); nil where nothing was committed yet.
        let committed = (try? consumer?.committed(partitions, timeout: .seconds(5))) ?? [:]
        statusBox.withLock { status in
            for case (let partition, let offset?) in committed { status.committed[partition] = offset }
        }
        for partition in partitions {
            let lane = BatchLane(partition: partition, generation: generation)
            lanes[partition] = lane
            batcher.assign(lane)
            tracker.assign(lane)
        }
        logger.info("partitions assigned", metadata: ["count": "\(partitions.count)",
                                                      "partitions": "\(partitions.map { String($0.partition) }.joined(separator: ","))"])
        // New partitions start fetching; keep them paused while the engine is.
        if flow.paused || drainDeadline != nil { pause(Set(partitions)) }
    }

    /// Before the partitions are released: finish their batches and commit them, within the revoke
    /// timeout; what is not acknowledged by then is abandoned uncommitted (the next owner redoes it).
    private func revoked(_ partitions: [TopicPartition]) {
        let revoked = Set(partitions)
        let now = Monotonic.now
        var handedOut: [BatchLane: UInt64] = [:]
        for partition in partitions {
            guard let lane = lanes[partition], let (last, count) = batcher.revoke(partition, now: now) else { continue }
            if let last { handOut(last) }
            handedOut[lane] = count
        }
        // Shutting down, the drain already waited: do not wait past its deadline.
        let deadline = min(now + Monotonic.nanoseconds(options.revokeTimeout), drainDeadline ?? .max)
        while tracker.uncommitted(in: revoked) > 0, Monotonic.now < deadline, fatal == nil {
            takeInbox(waitingUpTo: .milliseconds(20))
        }
        commit(synchronously: true, only: revoked)
        var abandoned = 0
        for partition in partitions { abandoned += tracker.remove(partition) }
        for (lane, count) in handedOut { sequencer.retire(lane, handedOut: count) }
        for partition in partitions { lanes[partition] = nil }
        paused.subtract(revoked)
        metrics.pausedPartitions.record(paused.count)
        if abandoned > 0 {
            metrics.abandonedBatches.increment(by: abandoned)
            logger.warning("revoked partitions had unacknowledged batches; left uncommitted for the next owner",
                           metadata: ["batches": "\(abandoned)"])
        }
        logger.info("partitions revoked", metadata: ["count": "\(partitions.count)"])
    }
}
