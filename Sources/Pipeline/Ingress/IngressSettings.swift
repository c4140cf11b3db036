import Settings

/// `ingress:` — the webhook receiver.
public struct IngressSettings: Decodable, Sendable {
    /// Where the webhook listens (Falco's k8s_audit endpoint listens on 8765 too).
    public var listen = ListenAddress(host: "0.0.0.0", port: 8765)

    public init() {}

    enum CodingKeys: String, CodingKey {
        case listen
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        listen = try container.decodeIfPresent(ListenAddress.self, forKey: .listen) ?? listen
    }
}
