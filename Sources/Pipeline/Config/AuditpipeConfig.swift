import Foundation
import Settings
import Kafka

/// The configuration file every subcommand reads (`--config F`): one schema, one
/// section per stage. Every key is optional; unknown keys are errors (ConfigDecoder).
public struct AuditpipeConfig: Decodable, Sendable {
    public var kafka = KafkaSettings()
    public var topics = PipelineTopics()
    public var ingress = IngressSettings()
    public var engine = EngineSettings()
    public var sink = SinkSettings()
    /// trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kafka, topics, ingress, engine, sink, logLevel
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kafka = try container.decodeIfPresent(KafkaSettings.self, forKey: .kafka) ?? kafka
        topics = try container.decodeIfPresent(TopicSettings.self, forKey: .topics)?.topics ?? topics
        ingress = try container.decodeIfPresent(IngressSettings.self, forKey: .ingress) ?? ingress
        engine = try container.decodeIfPresent(EngineSettings.self, forKey: .engine) ?? engine
        sink = try container.decodeIfPresent(SinkSettings.self, forKey: .sink) ?? sink
        logLevel = try container.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
    }

    /// Loads a configuration file; `nil` path gives the defaults.
    public static func load(path: String?) throws -> AuditpipeConfig {
        guard let path else { return AuditpipeConfig() }
        return try ConfigDecoder.decode(AuditpipeConfig.self, path: path)
    }
}

/// `kafka:` — where the brokers are, and any librdkafka setting passed through unchanged.
public struct KafkaSettings: Decodable, Sendable {
    /// `host:port,host:port`; empty means none configured (`auditpipe run` then embeds a dev cluster).
    public var brokers = ""
    /// librdkafka settings by their own names (`security.protocol`, `sasl.mechanisms`, `linger.ms`, …),
    /// applied to every client; a wrong name or value is an error when the client is created.
    public var settings: [String: String] = [:]

    public init(brokers: String = "", settings: [String: String] = [:]) {
        self.brokers = brokers
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case brokers, settings
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        brokers = try container.decodeIfPresent(String.self, forKey: .brokers) ?? brokers
        settings = try container.decodeIfPresent([String: String].self, forKey: .settings) ?? settings
    }

    /// The client configuration: the passed-through settings plus the bootstrap servers.
    public var clientConfiguration: KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: brokers, settings)
    }
}

/// `topics:` — the pipeline's topic names (DESIGN.md's defaults when absent).
struct TopicSettings: Decodable {
    var topics = PipelineTopics()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case raw, alerts, rejects, deadLetters
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        topics.raw = try container.decodeIfPresent(String.self, forKey: .raw) ?? topics.raw
        topics.alerts = try container.decodeIfPresent(String.self, forKey: .alerts) ?? topics.alerts
        topics.rejects = try container.decodeIfPresent(String.self, forKey: .rejects) ?? topics.rejects
        topics.deadLetters = try container.decodeIfPresent(String.self, forKey: .deadLetters) ?? topics.deadLetters
    }
}
