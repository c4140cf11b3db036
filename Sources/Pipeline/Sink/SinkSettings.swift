import Outputs
import Settings

/// `sink:` — alert delivery.
public struct SinkSettings: Decodable, Sendable {
    /// Where the alerts go; each output reads the alerts topic in its own consumer group.
    public var outputs: [OutputDefinition] = []
    /// Where /healthz, /readyz and /metrics are served.
    public var metricsListen = ListenAddress(host: "0.0.0.0", port: 9465)

    public init() {}

    enum CodingKeys: String, CodingKey {
        case outputs, metricsListen
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        outputs = try container.decodeIfPresent([OutputDefinition].self, forKey: .outputs) ?? []
        metricsListen = try container.decodeIfPresent(ListenAddress.self, forKey: .metricsListen) ?? metricsListen
    }
}
