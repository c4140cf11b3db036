import Settings

/// `engine:` — rule evaluation.
public struct EngineSettings: Decodable, Sendable {
    /// Rules files, loaded in order (later files append to and override earlier ones, as in Falco).
    public var rules: [String] = []
    /// Where /healthz, /readyz and /metrics are served.
    public var metricsListen = ListenAddress(host: "0.0.0.0", port: 9464)

    public init() {}

    enum CodingKeys: String, CodingKey {
        case rules, metricsListen
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rules = try container.decodeIfPresent([String].self, forKey: .rules) ?? rules
        metricsListen = try container.decodeIfPresent(ListenAddress.self, forKey: .metricsListen) ?? metricsListen
    }
}
