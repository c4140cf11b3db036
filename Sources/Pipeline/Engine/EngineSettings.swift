import Foundation
import Rules
import Settings

/// `engine:` — rule evaluation. Every key is optional; the defaults suit one engine per 2–8 cores
/// reading a raw topic of tens of partitions.
public struct EngineSettings: Decodable, Sendable {
    /// Rules files, loaded in order (later files append to and override earlier ones, as in Falco).
    public var rules: [String] = []
    /// `first` (Falco's default: only the first matching rule of an event alerts) or `all`.
    public var ruleMatching = RuleMatching.first
    /// Where /healthz, /readyz and /metrics are served.
    public var metricsListen = ListenAddress(host: "0.0.0.0", port: 9464)
    /// The consumer group that spreads the raw topic's partitions over the engines.
    public var consumerGroup = "auditpipe-engine"

    /// A batch (events of one partition, evaluated and committed together) closes when it holds this
    /// many events…
    public var batchMaxEvents = 1000
    /// …or when its first event has waited this long, whichever comes first. The wait bounds the
    /// latency a quiet partition adds; the size bounds the work lost to a crash.
    public var batchMaxWait = ConfigDuration(.milliseconds(20))
    /// Evaluation threads, each with its own evaluator; 0: one per core.
    public var workers = 0

    /// Backpressure: fetching pauses while this many batches are read but not yet committed…
    public var maxInFlightBatches = 256
    /// …or while the events read but not yet acknowledged take this many bytes (open batches
    /// included). Fetching resumes below half of both. Together with librdkafka's prefetch
    /// (`queued.max.messages.kbytes`, below) this bounds the engine's memory whatever the load.
    public var maxInFlightBytes = ByteSize(64 << 20)
    /// How often acknowledged batches' offsets are committed (asynchronously; a crash redoes at
    /// most this much more work). Revocation and shutdown commit synchronously.
    public var commitInterval = ConfigDuration(.milliseconds(200))
    /// How long a revocation waits for in-flight batches of the revoked partitions to be acknowledged
    /// and committed; past it they are abandoned uncommitted (the new owner evaluates them again).
    public var revokeTimeout = ConfigDuration(.seconds(15))
    /// How long graceful shutdown waits for in-flight batches before leaving them uncommitted.
    public var shutdownTimeout = ConfigDuration(.seconds(30))
    /// How often the rules files are checked for changes (SIGHUP reloads at once); 0 turns watching off.
    public var rulesWatchInterval = ConfigDuration(.seconds(2))
    /// How often consumer lag is measured (one watermark query per assigned partition).
    public var lagInterval = ConfigDuration(.seconds(5))

    public init() {}

    /// librdkafka consumer settings the engine starts from (`kafka.settings` override them): a prefetch
    /// bounded in bytes rather than librdkafka's 1 GiB, so that memory stays bounded when fetching pauses.
    /// The bound must stay well above one fetch response (up to 1 MiB per partition, tens of MiB for a topic
    /// of many partitions): librdkafka 2.0 stops fetching a partition once the queue is past either threshold
    /// and looks again only up to a second later, so a bound that one response overshoots starves the engine
    /// (16 MiB / 20,000 messages held a 64-partition drain to ~50,000 events/s, fetching once a second). The
    /// message count is set out of the way: bytes are what bound memory.
    public static let consumerDefaults: [String: String] = [
        "queued.max.messages.kbytes": "65536",
        "queued.min.messages": "1000000",
        "fetch.wait.max.ms": "50",
    ]

    /// librdkafka producer settings for alerts and rejects (`kafka.settings` override them): a queue large
    /// enough that in-flight limits, not the queue, bound what waits; short linger for latency.
    public static let producerDefaults: [String: String] = [
        "queue.buffering.max.messages": "1000000",
        "queue.buffering.max.kbytes": "262144",
        "linger.ms": "5",
    ]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case rules, ruleMatching, metricsListen, consumerGroup, batchMaxEvents, batchMaxWait, workers
        case maxInFlightBatches, maxInFlightBytes, commitInterval, revokeTimeout, shutdownTimeout
        case rulesWatchInterval, lagInterval
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rules = try container.decodeIfPresent([String].self, forKey: .rules) ?? rules
        if let matching = try container.decodeIfPresent(String.self, forKey: .ruleMatching) {
            guard let value = RuleMatching(rawValue: matching) else {
                throw DecodingError.dataCorruptedError(forKey: .ruleMatching, in: container,
                                                       debugDescription: "'\(matching)' is not first or all")
            }
            ruleMatching = value
        }
        metricsListen = try container.decodeIfPresent(ListenAddress.self, forKey: .metricsListen) ?? metricsListen
        consumerGroup = try container.decodeIfPresent(String.self, forKey: .consumerGroup) ?? consumerGroup
        batchMaxEvents = try container.decodeIfPresent(Int.self, forKey: .batchMaxEvents) ?? batchMaxEvents
        batchMaxWait = try container.decodeIfPresent(ConfigDuration.self, forKey: .batchMaxWait) ?? batchMaxWait
        workers = try container.decodeIfPresent(Int.self, forKey: .workers) ?? workers
        maxInFlightBatches = try container.decodeIfPresent(Int.self, forKey: .maxInFlightBatches) ?? maxInFlightBatches
        maxInFlightBytes = try container.decodeIfPresent(ByteSize.self, forKey: .maxInFlightBytes) ?? maxInFlightBytes
        commitInterval = try container.decodeIfPresent(ConfigDuration.self, forKey: .commitInterval) ?? commitInterval
        revokeTimeout = try container.decodeIfPresent(ConfigDuration.self, forKey: .revokeTimeout) ?? revokeTimeout
        shutdownTimeout = try container.decodeIfPresent(ConfigDuration.self, forKey: .shutdownTimeout) ?? shutdownTimeout
        rulesWatchInterval = try container.decodeIfPresent(ConfigDuration.self, forKey: .rulesWatchInterval) ?? rulesWatchInterval
        lagInterval = try container.decodeIfPresent(ConfigDuration.self, forKey: .lagInterval) ?? lagInterval
        for (key, value, minimum) in [(CodingKeys.batchMaxEvents, batchMaxEvents, 1), (.workers, workers, 0),
                                      (.maxInFlightBatches, maxInFlightBatches, 1)] where value < minimum {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: "must be at least \(minimum), not \(value)")
        }
        if maxInFlightBytes.bytes < 1 << 16 {
            throw DecodingError.dataCorruptedError(forKey: .maxInFlightBytes, in: container,
                                                   debugDescription: "must be at least 64KiB")
        }
    }

    /// The number of evaluation threads `workers` asks for.
    public var workerCount: Int {
        workers > 0 ? workers : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}
