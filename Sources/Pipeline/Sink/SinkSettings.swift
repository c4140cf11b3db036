import Outputs
import Settings

/// `sink:` — alert delivery.
public struct SinkSettings: Decodable, Sendable {
    /// Where the alerts go; each output reads the alerts topic in its own consumer group
    /// (`auditpipe-sink-<name>`), so names are unique. The sink refuses to start without any.
    public var outputs: [OutputDefinition] = []
    /// Where /healthz, /readyz and /metrics are served.
    public var metricsListen = ListenAddress(host: "0.0.0.0", port: 9465)

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case outputs, metricsListen
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        outputs = try container.decodeIfPresent([OutputDefinition].self, forKey: .outputs) ?? []
        var seen = Set<String>()
        for output in outputs where !seen.insert(output.common.name).inserted {
            throw DecodingError.dataCorruptedError(
                forKey: .outputs, in: container,
                debugDescription: "two outputs are named '\(output.common.name)': names must be unique (each is a consumer group)")
        }
        for output in outputs where output.common.name.isEmpty || output.common.name.contains(where: { $0 == " " || $0 == "/" }) {
            throw DecodingError.dataCorruptedError(
                forKey: .outputs, in: container,
                debugDescription: "output name '\(output.common.name)' must be non-empty, without spaces or '/'")
        }
        metricsListen = try container.decodeIfPresent(ListenAddress.self, forKey: .metricsListen) ?? metricsListen
    }
}
