/// `sink:` — alert delivery.
public struct SinkSettings: Decodable, Sendable {
    /// Where /healthz, /readyz and /metrics are served.
    public var metricsListen = ListenAddress(host: "0.0.0.0", port: 9465)

    public init() {}

    enum CodingKeys: String, CodingKey {
        case metricsListen
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metricsListen = try container.decodeIfPresent(ListenAddress.self, forKey: .metricsListen) ?? metricsListen
    }
}
