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
        let decoder = AlertDecoder()
        // Offsets finished but not yet committed, and everything finished (for the final commit).
        var uncommitted: [TopicPartition: Int64] = [:]
        var finished: [TopicPartition: Int64] = [:]
        var lastCommit = ContinuousClock.now
        while !stop.isStopped {
            let messages: [KafkaMessage]
            do {
                messages = try await collectBatch(size: policy.batchSize)
            } catch {
                logger.error("cannot read the alerts topic", metadata: ["error": "\(error)"])
                _ = await stop.sleep(for: .seconds(1))
                continue
            }
            if !messages.isEmpty {
                let done = await policy.process(messages.map { Self.item($0, decoder: decoder) })
                let offsets = CommitPlan.nextOffsets(messages, done: done)
                uncommitted.merge(offsets) { _, new in new }
                finished.merge(offsets) { _, new in new }
                if done < messages.count { break }
            }
            // Asynchronous commits, at most every commitInterval (and whenever the topic goes quiet), keep
            // one-alert outputs from sending a commit per alert; the synchronous commit at the end seals them.
            if !uncommitted.isEmpty, messages.isEmpty || ContinuousClock.now - lastCommit >= Self.commitInterval {
                await consumer.commit(uncommitted, wait: false)
                uncommitted.removeAll(keepingCapacity: true)
                lastCommit = .now
            }
        }
        await consumer.commit(finished, wait: true)
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
