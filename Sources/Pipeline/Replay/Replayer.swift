import Foundation
import Kafka
import Logging
import Rules
import Synchronization

/// Runs rules over a time range of the raw topic's history, without touching the live pipeline: partitions
/// are assigned explicitly to a consumer of a group of its own that never commits, so the engine's group and
/// its offsets stay as they are. Evaluation is the engine's (`BatchEvaluator`), so alerts and their ids are
/// the engine's too. One reading thread, one evaluation thread per core.
public final class Replayer: Sendable {
    public let request: ReplayRequest
    public let progress = ReplayProgress()
    private let logger: Logger

    public init(request: ReplayRequest, logger: Logger = Logger(label: "auditpipe.replay")) {
        self.request = request
        self.logger = logger
    }

    /// Replays the range; blocks until done. Throws `ReplayError` for what the user can act on.
    public func run() throws -> ReplayReport {
        let start = DispatchTime.now().uptimeNanoseconds
        if let to = request.range.to, to <= request.range.from { throw ReplayError.emptyRange(request.range) }
        let rawTopic = request.topics.raw
        let description = try describe()
        guard let raw = description[rawTopic] else {
            throw ReplayError.unknownTopic(rawTopic, brokers: request.kafka.brokers, existing: Array(description.keys))
        }
        if case .topic(let name) = request.target, description[name] == nil { throw ReplayError.missingOutputTopic(name) }

        let consumer = try makeConsumer()
        defer { consumer.close() }
        let plan: ReplayPlan
        do {
            plan = try ReplayPlan.lookUp(consumer, topic: rawTopic, partitions: raw.partitions, range: request.range,
                                         timeout: request.brokerTimeout)
        } catch let error as KafkaError {
            throw ReplayError.brokersUnreachable(brokers: request.kafka.brokers, seconds: timeoutSeconds, reason: error.description)
        }
        guard plan.total > 0 else {
            throw ReplayError.noData(plan.retained == 0 ? "\(rawTopic) is empty"
                : "\(rawTopic) holds no events \(request.range) (it holds \(plan.retained) events in all)")
        }
        if !plan.byTime {
            logger.notice("""
                the brokers do not look offsets up by time: reading every partition from its first event, \
                the events' stageTimestamps select the range
                """)
        }

        let sink = try makeSink()
        let collector = ReplayCollector(sink: sink, progress: progress, diff: request.previousRules != nil)
        let range = request.range.window
        let rules = request.rules, previous = request.previousRules, hostname = request.hostname
        let workers = ReplayWorkers(count: request.workerCount, capacity: request.workerCount * 4) {
            let evaluator = BatchEvaluator(ruleSet: rules, hostname: hostname)
            let previousEvaluator = previous.map { BatchEvaluator(ruleSet: $0, hostname: hostname) }
            return { batch in
                let outcome = evaluator.evaluate(batch, within: range)
                collector.collect(batch, outcome, previous: previousEvaluator?.evaluate(batch, within: range))
            }
        }
        var options = ReplayReader.Options()
        options.batchEvents = request.batchEvents
        options.stallTimeout = request.stallTimeout
        let reader = ReplayReader(consumer: consumer, spans: plan.spans, clusters: request.clusters, options: options,
                                  progress: progress) { workers.submit($0) }
        let counts: ReplayReader.Counts
        let readingStart = DispatchTime.now().uptimeNanoseconds
        do {
            counts = try reader.run()
        } catch {
            workers.finish()
            try? sink?.finish()
            throw error
        }
        workers.finish()
        progress.finish()
        try sink?.finish()

        var report = collector.report(plan: plan)
        report.eventsRead = counts.read
        report.otherClusters = counts.otherClusters
        let end = DispatchTime.now().uptimeNanoseconds
        report.seconds = Double(end - start) / 1e9
        report.readingSeconds = Double(end - readingStart) / 1e9
        if report.evaluated == 0 {
            var detail = "none of the \(counts.read) events read"
            if !request.clusters.isEmpty { detail += " is of cluster \(request.clusters.joined(separator: ", ")) and" }
            detail += " has a stageTimestamp \(request.range)"
            throw ReplayError.noData(detail)
        }
        return report
    }

    private var timeoutSeconds: Int { Int(max(1, request.brokerTimeout.components.seconds)) }

    /// Client settings: librdkafka's own connection complaints stay quiet (the replay says what failed, once).
    private var clientConfiguration: KafkaConfiguration {
        var settings = request.kafka.clientConfiguration
        if settings["log_level"] == nil { settings["log_level"] = "2" }
        return settings
    }

    /// The cluster's topics; the first contact with the brokers, bounded by `brokerTimeout`.
    private func describe() throws -> [String: TopicDescription] {
        do {
            let admin = try KafkaAdmin(configuration: clientConfiguration)
            return try admin.describeTopics(timeout: request.brokerTimeout)
        } catch let error as KafkaError {
            throw ReplayError.brokersUnreachable(brokers: request.kafka.brokers, seconds: timeoutSeconds, reason: error.message)
        }
    }

    /// A consumer of a group of its own that never commits: explicit assignment, no auto-commit.
    private func makeConsumer() throws -> KafkaConsumer {
        var settings = clientConfiguration
        for (key, value) in EngineSettings.consumerDefaults where settings[key] == nil { settings[key] = value }
        settings["enable.auto.commit"] = "false"
        settings["enable.auto.offset.store"] = "false"
        settings["enable.partition.eof"] = "true"
        return try KafkaConsumer(configuration: settings, groupID: "auditpipe-replay-\(UUID().uuidString.lowercased())")
    }

    private func makeSink() throws -> (any ReplayAlertSink)? {
        switch request.target {
        case nil: return nil
        case .stdout: return JSONLinesSink.standardOutput()
        case .file(let path): return try JSONLinesSink.file(path)
        case .topic(let name): return try ReplayTopicSink(configuration: clientConfiguration, topic: name)
        }
    }
}

/// Gathers the workers' outcomes: counts, tallies, alerts to the sink.
final class ReplayCollector: Sendable {
    private struct State {
        var tally = ReplayTally()
        var previousTally = ReplayTally()
        var outsideRange: Int64 = 0
        var rejected: Int64 = 0
        var firstRejection: String?
        var evaluated: Int64 = 0
    }

    private let state = Mutex(State())
    private let sink: (any ReplayAlertSink)?
    private let progress: ReplayProgress
    private let diff: Bool

    init(sink: (any ReplayAlertSink)?, progress: ReplayProgress, diff: Bool) {
        self.sink = sink
        self.progress = progress
        self.diff = diff
    }

    func collect(_ batch: RawBatch, _ outcome: BatchOutcome, previous: BatchOutcome?) {
        var alerts: [(alert: Alert, json: [UInt8])] = []
        var rejection: String?
        var rejected = 0
        for item in outcome.items {
            switch item {
            case .alert(let alert, let json, _): alerts.append((alert, json))
            case .reject(_, let reason):
                rejected += 1
                if rejection == nil { rejection = reason }
            }
        }
        state.withLock { state in
            for (alert, _) in alerts { state.tally.add(alert) }
            if let previous { for alert in previous.alerts { state.previousTally.add(alert) } }
            state.outsideRange += Int64(outcome.outsideWindow)
            state.rejected += Int64(rejected)
            if state.firstRejection == nil { state.firstRejection = rejection }
            state.evaluated += Int64(batch.count - rejected - outcome.outsideWindow)
        }
        progress.alerted(alerts.count)
        sink?.write(alerts)
    }

    func report(plan: ReplayPlan) -> ReplayReport {
        state.withLock { state in
            var report = ReplayReport(plan: plan)
            report.tally = state.tally
            report.previousTally = diff ? state.previousTally : nil
            report.outsideRange = state.outsideRange
            report.rejected = state.rejected
            report.firstRejection = state.firstRejection
            report.evaluated = state.evaluated
            return report
        }
    }
}
