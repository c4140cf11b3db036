import Kafka
import Logging
import Metrics
import Outputs
import Rules

/// One output's loop: read alerts in its own consumer group, hand them to the delivery policy in
/// batches, commit what the policy finished. Independent of every other output's worker: a down
/// output only builds its own lag.
struct OutputWorker: Sendable {
    let output: any AlertOutput
    let settings: OutputSettings
    let consumer: AlertConsumer
    let deadLetters: DeadLetterWriter
    let metrics: OutputMetrics
    let lag: Gauge
    let stop: StopSignal
    let logger: Logger

    /// How often the consumer lag gauge is refreshed.
    static let lagInterval = Duration.seconds(5)
    /// Commits are sent at most this often while alerts keep coming (a crash repeats at most this much).
    static let commitInterval = Duration.milliseconds(100)

    /// Runs until the stop signal; then finishes the attempt in flight, commits what is done and leaves the group.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await reportLag() }
            await deliverUntilStopped()
            group.cancelAll()
        }
        await consumer.close()
        await output.shutdown()
        logger.info("output stopped")
    }

    private func deliverUntilStopped() async {
        let policy: DeliveryPolicy
        do {
            policy = try DeliveryPolicy(output: output, settings: settings, deadLetters: deadLetters, metrics: metrics,
                                        stop: stop, logger: logger)
        } catch {
            // Templates were checked when the configuration was read; this cannot be reached with a loaded config.
            logger.critical("cannot start the output", metadata: ["error": "\(error)"])
            return
        }
        // Offsets finished but not yet committed, and everything finished (for the final commit).
        var uncommitted: [TopicPartition: Int64] = [:]
        var finished: [TopicPartition: Int64] = [:]
        var lastCommit = ContinuousClock.now
        var next = await readBatch(size: policy.batchSize)
        while !stop.isStopped {
            let batch: ReadBatch
            switch next {
            case .failure(let error):
                logger.error("cannot read the alerts topic", metadata: ["error": "\(error)"])
                _ = await stop.sleep(for: .seconds(1))
                next = await readBatch(size: policy.batchSize)
                continue
            case .success(let read):
                batch = read
            }
            if batch.messages.isEmpty {
                // The topic went quiet: commit what is finished now.
                await consumer.commit(uncommitted, wait: false)
                uncommitted.removeAll(keepingCapacity: true)
                lastCommit = .now
                next = await readBatch(size: policy.batchSize)
                continue
            }
            // The next batch is read and decoded while this one is delivered: the consumer has a thread
            // of its own, so the output's round trips and the reading overlap instead of taking turns.
            let size = policy.batchSize
            let upcoming = Task { await readBatch(size: size) }
            let done = await policy.process(batch.items)
            let offsets = CommitPlan.nextOffsets(batch.messages, done: done)
            uncommitted.merge(offsets) { _, new in new }
            finished.merge(offsets) { _, new in new }
            if done < batch.messages.count {
                // Stopped mid-batch: the prefetched batch is left uncommitted, for the next run.
                _ = await upcoming.value
                break
            }
            // Asynchronous commits, at most every commitInterval (and whenever the topic goes quiet), keep
            // one-alert outputs from sending a commit per alert; the synchronous commit at the end seals them.
            if !uncommitted.isEmpty, ContinuousClock.now - lastCommit >= Self.commitInterval {
                await consumer.commit(uncommitted, wait: false)
                uncommitted.removeAll(keepingCapacity: true)
                lastCommit = .now
            }
            next = await upcoming.value
        }
        await consumer.commit(finished, wait: true)
    }

    /// Messages read for the policy, with the alerts decoded from them.
    private struct ReadBatch: Sendable {
        let messages: [KafkaMessage]
        let items: [DeliveryItem]
    }

    /// The next batch, decoded (empty when the topic stayed quiet for a poll), or why it cannot be read.
    private func readBatch(size: Int) async -> Result<ReadBatch, any Error> {
        do {
            let messages = try await collectBatch(size: size)
            let decoder = AlertDecoder()
            return .success(ReadBatch(messages: messages, items: messages.map { Self.item($0, decoder: decoder) }))
        } catch {
            return .failure(error)
        }
    }

    /// Up to `size` messages: waits for the first, then up to batch.max_wait for the rest.
    private func collectBatch(size: Int) async throws -> [KafkaMessage] {
        var messages = try await consumer.poll(maxMessages: size, timeout: .milliseconds(100))
        guard !messages.isEmpty, messages.count < size else { return messages }
        let deadline = ContinuousClock.now + settings.batch.maxWait.duration
        while messages.count < size, !stop.isStopped {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            messages += try await consumer.poll(maxMessages: size - messages.count, timeout: min(remaining, .milliseconds(100)))
        }
        return messages
    }

    static func item(_ message: KafkaMessage, decoder: AlertDecoder) -> DeliveryItem {
        do {
            let alert = try decoder.decode(message.value)
            return .alert(OutputAlert(json: message.value, alert: alert, key: message.key))
        } catch {
            return .undecodable(value: message.value, key: message.key,
                                reason: "\(error.reason) (\(message.topic)[\(message.partition)]@\(message.offset))")
        }
    }

    private func reportLag() async {
        while !Task.isCancelled {
            if let value = await consumer.lag() { lag.record(value) }
            try? await Task.sleep(for: Self.lagInterval)
        }
    }
}
