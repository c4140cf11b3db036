import Foundation
import Kafka
import Rules

/// Everything a replay needs: what to read, which rules, where alerts go.
public struct ReplayRequest: Sendable {
    public var kafka: KafkaSettings
    public var topics: PipelineTopics
    public var range: ReplayRange
    public var rules: RuleSet
    /// `--diff`: the rule set to compare with, evaluated over the same events (its alerts are counted, not written).
    public var previousRules: RuleSet?
    /// `cluster` header values to keep; empty keeps every cluster.
    public var clusters: [String] = []
    /// Nil: alerts are counted, not written (a summary or a diff is the result).
    public var target: ReplayTarget?
    /// Evaluation threads; 0: one per core.
    public var workers = 0
    /// The alerts' hostname (the engine's is the host's name).
    public var hostname = RuleSet.defaultHostname
    /// How long the brokers get to answer before the replay gives up (connecting, metadata, offsets).
    public var brokerTimeout: Duration = .seconds(10)
    /// Reading gives up when nothing moves for this long (brokers gone mid-replay).
    public var stallTimeout: Duration = .seconds(60)
    public var batchEvents = 1000

    public init(kafka: KafkaSettings, topics: PipelineTopics = PipelineTopics(), range: ReplayRange, rules: RuleSet) {
        self.kafka = kafka
        self.topics = topics
        self.range = range
        self.rules = rules
    }

    var workerCount: Int { workers > 0 ? workers : max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

/// What a replay did.
public struct ReplayReport: Sendable {
    public var plan: ReplayPlan
    /// Messages read from Kafka.
    public var eventsRead: Int64 = 0
    /// Messages of clusters not asked for (left out before evaluation).
    public var otherClusters: Int64 = 0
    /// Audit events whose stageTimestamp lies outside the range.
    public var outsideRange: Int64 = 0
    /// Messages that are not audit events (the engine sends these to the rejects topic); the first reason.
    public var rejected: Int64 = 0
    public var firstRejection: String?
    /// Audit events evaluated: in the range and of the clusters asked for.
    public var evaluated: Int64 = 0
    public var tally = ReplayTally()
    /// `--diff`: the previous rule set's alerts over the same events.
    public var previousTally: ReplayTally?
    /// The whole replay, and the reading and evaluation part of it (without connecting and planning).
    public var seconds: Double = 0
    public var readingSeconds: Double = 0

    public var alerts: Int { tally.total }
}
