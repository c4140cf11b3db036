import Foundation
import Rules

/// Datadog, as events through the Events API v1 (`POST /api/v1/events`, the API key in
/// `DD-API-KEY`), as falcosidekick posts them: the title is the alert's title, the text its
/// output line, `alert_type` follows the priority (error / warning / info), and the tags carry
/// the priority, rule, cluster, Falco tags and output fields as `name:value`.
///
/// ```yaml
/// - name: datadog
///   type: datadog
///   api_key: 0123456789abcdef0123456789abcdef   # required
///   site: datadoghq.eu        # datadoghq.com (default), us3.datadoghq.com, us5.datadoghq.com, ap1.datadoghq.com, ddog-gov.com, …
///   api_url: https://dd-proxy.internal:8443   # instead of site (a proxy); /api/v1/events is appended
///   host: k8s-audit           # the event's host (default: the alert's hostname)
/// ```
public struct DatadogOutput: PerAlertHTTPOutput {
    public static let path = "/api/v1/events"

    public struct Configuration: OutputConfiguration {
        public static let type = "datadog"
        public var apiKey: String
        public var endpoint: EndpointURL
        public var host: String?

        enum CodingKeys: String, CodingKey {
            case apiKey, site, host
            case apiURL = "api_url"  // spelt as in YAML: error messages name it
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            apiKey = try container.decode(String.self, forKey: .apiKey)
            host = try container.decodeIfPresent(String.self, forKey: .host)
            endpoint = try container.decodeServiceEndpoint(apiURL: .apiURL, location: .site, path: DatadogOutput.path) { (site: String?) in
                EndpointURL("https://api.\(site ?? "datadoghq.com")\(DatadogOutput.path)")
            }
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            DatadogOutput(name: common.name, transport: try HTTPTransport(common, context: context), configuration: self)
        }
    }

    /// The Events API v1 request body.
    struct Event: Encodable, Equatable {
        var title: String
        var text: String
        var alertType: String
        var tags: [String]
        var host: String?
        var aggregationKey: String
        var dateHappened: Int64?
        var sourceTypeName = "falco"

        enum CodingKeys: String, CodingKey {
            case title, text, alertType = "alert_type", tags, host, aggregationKey = "aggregation_key",
                 dateHappened = "date_happened", sourceTypeName = "source_type_name"
        }
    }

    /// Datadog refuses events older than this (18 hours); an alert delivered later, after an
    /// outage, is posted with Datadog's own time instead (its text keeps the alert's time).
    static let oldestDate: Duration = .seconds(17 * 3600)

    public let name: String
    public let transport: HTTPTransport
    let configuration: Configuration

    public func request(for alert: OutputAlert) throws -> HTTPTransport.Request {
        .json(configuration.endpoint, headers: [("DD-API-KEY", configuration.apiKey)],
              body: try JSONBody.encode(Self.event(alert.alert, host: configuration.host)))
    }

    static func event(_ alert: Alert, host: String?, now: Date = Date()) -> Event {
        let seconds = alert.time / 1_000_000_000
        let recent = Double(seconds) > now.timeIntervalSince1970 - Double(oldestDate.components.seconds)
        var tags = ["source:\(alert.source)", "priority:\(alert.priority.name)", "rule:\(alert.rule)"]
        if !alert.cluster.isEmpty { tags.append("cluster:\(alert.cluster)") }
        tags += alert.tags.sorted()
        for (name, value) in alert.outputFields.sorted(by: { $0.0 < $1.0 }) where name != "evt.time" {
            if let text = AlertPresentation.text(value) { tags.append("\(name):\(text)") }
        }
        let hostname = host ?? (alert.hostname.isEmpty ? nil : alert.hostname)
        return Event(title: AlertPresentation.truncated(AlertPresentation.title(alert), to: 100),
                     text: AlertPresentation.truncated(alert.output + "\n\ntime: \(AlertPresentation.time(alert))", to: 4000),
                     alertType: alertType(alert.priority), tags: tags.map(tag), host: hostname,
                     aggregationKey: alert.id, dateHappened: recent ? seconds : nil)
    }

    static func alertType(_ priority: Priority) -> String {
        switch AlertPresentation.severity(priority) {
        case .critical: "error"
        case .warning: "warning"
        case .notice, .info: "info"
        }
    }

    /// A tag as Datadog stores it: lowercase; letters, digits, `_ - : . /` kept, anything else
    /// an underscore; at most 200 characters. Doing it here keeps tags predictable for queries.
    static func tag(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-:./")
        let normalized = String(text.lowercased().map { allowed.contains($0) ? $0 : "_" })
        return String(normalized.prefix(200))
    }
}
