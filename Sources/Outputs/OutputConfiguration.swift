import Kafka
import Logging
import Metrics
import NIOCore
import Settings

/// What an output may use besides its own settings: the process's event loops, the Kafka
/// cluster (for topic outputs), a logger and the metrics factory.
public struct OutputContext: Sendable {
    public var eventLoopGroup: any EventLoopGroup
    public var kafka: KafkaConfiguration
    public var logger: Logger
    public var metrics: any MetricsFactory

    public init(eventLoopGroup: any EventLoopGroup, kafka: KafkaConfiguration, logger: Logger, metrics: any MetricsFactory) {
        self.eventLoopGroup = eventLoopGroup
        self.kafka = kafka
        self.logger = logger
        self.metrics = metrics
    }
}

/// The settings of one output type (Slack's webhook URL, Loki's endpoint, …), decoded from the
/// output's YAML mapping next to the common `OutputSettings`, and the output they describe.
public protocol OutputConfiguration: Decodable, Sendable {
    /// The `type:` value that selects these settings.
    static var type: String { get }
    func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput
}

/// One entry of `sink.outputs`: the common settings and the type's own, both read from the
/// same mapping (so a key neither knows is reported as unknown).
public struct OutputDefinition: Decodable, Sendable {
    public let common: OutputSettings
    public let configuration: any OutputConfiguration

    public init(common: OutputSettings, configuration: any OutputConfiguration) {
        self.common = common
        self.configuration = configuration
    }

    enum CodingKeys: String, CodingKey {
        case type
    }

    public init(from decoder: any Decoder) throws {
        common = try OutputSettings(from: decoder)
        guard let type = OutputTypes.byName[common.type] else {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unknown output type '\(common.type)' (known: \(OutputTypes.byName.keys.sorted().joined(separator: ", ")))")
        }
        configuration = try type.init(from: decoder)
    }

    public func makeOutput(context: OutputContext) throws -> any AlertOutput {
        try configuration.makeOutput(common, context: context)
    }
}
