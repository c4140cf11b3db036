import Rules

/// Opsgenie, through the Alert API (`POST /v2/alerts`, `Authorization: GenieKey <key>`): one
/// alert each, its alias the alert's `id` so Opsgenie de-duplicates replays, priority P1–P5
/// from Falco's (falcosidekick's mapping), the output line as description, the fields as
/// details. Opsgenie's limits are kept: message 130 characters, 20 tags of 50, details 8000.
///
/// ```yaml
/// - name: opsgenie
///   type: opsgenie
///   api_key: 00000000-0000-0000-0000-000000000000   # an API integration's key; required
///   region: eu                  # us (default, api.opsgenie.com) or eu (api.eu.opsgenie.com)
///   api_url: https://og-proxy.internal   # instead of region; /v2/alerts is appended
/// ```
public struct OpsgenieOutput: PerAlertHTTPOutput {
    public static let path = "/v2/alerts"

    public enum Region: String, Decodable, Sendable {
        case us, eu

        var endpoint: EndpointURL {
            switch self {
            case .us: EndpointURL("https://api.opsgenie.com\(OpsgenieOutput.path)")!
            case .eu: EndpointURL("https://api.eu.opsgenie.com\(OpsgenieOutput.path)")!
            }
        }
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "opsgenie"
        public var apiKey: String
        public var endpoint: EndpointURL

        enum CodingKeys: String, CodingKey {
            case apiKey, region
            case apiURL = "api_url"  // spelt as in YAML: error messages name it
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            apiKey = try container.decode(String.self, forKey: .apiKey)
            endpoint = try container.decodeServiceEndpoint(apiURL: .apiURL, location: .region, path: OpsgenieOutput.path) {
                (region: Region?) in (region ?? .us).endpoint
            }
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            OpsgenieOutput(name: common.name, transport: try HTTPTransport(common, context: context), configuration: self)
        }
    }

    /// The create-alert request body.
    struct Request: Encodable, Equatable {
        var message: String
        var alias: String
        var description: String
        var priority: String
        var tags: [String]
        var details: [String: String]
        var entity: String?
        var source = "auditpipe"
    }

    public let name: String
    public let transport: HTTPTransport
    let configuration: Configuration

    public func request(for alert: OutputAlert) throws -> HTTPTransport.Request {
        .json(configuration.endpoint, headers: [("Authorization", "GenieKey \(configuration.apiKey)")],
              body: try JSONBody.encode(Self.body(alert.alert)))
    }

    static func body(_ alert: Alert) -> Request {
        var details: [String: String] = [:]
        var size = 0
        // Dots become underscores in detail keys, as falcosidekick sends them (users' filters rely on it).
        for field in AlertPresentation.fields(alert) {
            let key = field.name.replacingOccurrences(of: ".", with: "_")
            let value = AlertPresentation.truncated(field.value, to: 1000)
            guard size + key.count + value.count <= 8000 else { break }
            size += key.count + value.count
            details[key] = value
        }
        return Request(message: AlertPresentation.truncated(AlertPresentation.title(alert), to: 130),
                       alias: alert.id,
                       description: AlertPresentation.truncated(alert.output, to: 15000),
                       priority: priority(alert.priority),
                       tags: alert.tags.sorted().prefix(20).map { AlertPresentation.truncated($0, to: 50) },
                       details: details,
                       entity: alert.cluster.isEmpty ? nil : AlertPresentation.truncated(alert.cluster, to: 512))
    }

    static func priority(_ priority: Priority) -> String {
        switch priority {
        case .emergency, .alert: "P1"
        case .critical: "P2"
        case .error: "P3"
        case .warning: "P4"
        case .notice, .informational, .debug: "P5"
        }
    }
}
