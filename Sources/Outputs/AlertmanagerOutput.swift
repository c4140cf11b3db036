import AuditModel
import Foundation
import Rules
import Settings

/// Prometheus Alertmanager through its v2 API: batches of alerts posted as one JSON array to
/// `POST <url>/api/v2/alerts`, labelled as falcosidekick labels them so existing routes and
/// silences keep working (`source="falco"`, `priority`, `severity`, `rule`, output fields as
/// labels), plus `alertname` (the rule, which Alertmanager's UI groups by) and `cluster`.
///
/// ```yaml
/// - name: alertmanager
///   type: alertmanager
///   url: http://alertmanager:9093        # required; the API base (alerts go to <url>/api/v2/alerts)
///   expires_after: 1h                    # endsAt = alert time + this (default: Alertmanager's resolve_timeout)
///   generator_url: https://grafana.example.com/d/k8s-audit   # optional link shown with each alert
///   extra_labels: {team: security}       # added to every alert (and winning over alert labels)
///   extra_annotations: {runbook: https://wiki.example.com/k8s-audit}
///   severity_map: {notice: warning}      # Falco priority -> `severity` label, over the defaults
///   username: sink                       # basic authentication (with password), or
///   password: s3cr3t
///   # bearer_token: eyJhbGciOi...        # a bearer token (not both)
///   headers: {X-Proxy-Token: abc}        # optional, added to every request
/// ```
///
/// Labels identify an alert to Alertmanager, so they hold only what the same alert always has:
/// not the engine's hostname (a replay from another engine would otherwise be a second alert).
public struct AlertmanagerOutput: AlertOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "alertmanager"
        public var url: EndpointURL
        public var expiresAfter: ConfigDuration?
        public var generatorURL: EndpointURL?
        public var extraLabels: [String: String] = [:]
        public var extraAnnotations: [String: String] = [:]
        public var severityMap: [Priority: String] = [:]
        public var authorization: HTTPAuthorization?
        /// Headers added to every request (falcosidekick's customheaders), e.g. for a proxy in front.
        public var headers = HeaderSettings()

        enum CodingKeys: String, CodingKey {
            case url, expiresAfter, generatorUrl, extraLabels, extraAnnotations, severityMap, headers
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(EndpointURL.self, forKey: .url)
            expiresAfter = try container.decodeIfPresent(ConfigDuration.self, forKey: .expiresAfter)
            generatorURL = try container.decodeIfPresent(EndpointURL.self, forKey: .generatorUrl)
            extraLabels = try container.decodeIfPresent([String: String].self, forKey: .extraLabels) ?? [:]
            for name in extraLabels.keys.sorted() where !AlertLabels.isValidName(name) {
                throw DecodingError.dataCorruptedError(
                    forKey: .extraLabels, in: container,
                    debugDescription: "'\(name)' is not a label name (letters, digits and _, not starting with a digit)")
            }
            extraAnnotations = try container.decodeIfPresent([String: String].self, forKey: .extraAnnotations) ?? [:]
            for (text, severity) in try container.decodeIfPresent([String: String].self, forKey: .severityMap) ?? [:] {
                guard let priority = Priority(parsing: text) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .severityMap, in: container,
                        debugDescription: "unknown priority '\(text)' (emergency, alert, critical, error, warning, notice, informational, debug)")
                }
                severityMap[priority] = severity
            }
            headers = try container.decodeIfPresent(HeaderSettings.self, forKey: .headers) ?? headers
            authorization = try HTTPAuthorization.decode(from: decoder, tokenKey: "bearer_token", scheme: "Bearer")
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            AlertmanagerOutput(name: common.name, configuration: self, endpoint: ServiceEndpoint(
                transport: try HTTPTransport(common, context: context), url: url.appendingPath("/api/v2/alerts"),
                contentType: "application/json", authorization: authorization, custom: headers))
        }
    }

    /// One alert as the v2 API's `postableAlert`.
    struct PostableAlert: Encodable {
        let labels: [String: String]
        let annotations: [String: String]
        let startsAt: String
        let endsAt: String?
        let generatorURL: String?
    }

    /// falcosidekick's default mapping of Falco priorities to the `severity` label.
    static let defaultSeverity: [Priority: String] = [
        .debug: "information", .informational: "information", .notice: "information",
        .warning: "warning", .error: "warning",
        .critical: "critical", .alert: "critical", .emergency: "critical",
    ]

    public let name: String
    /// Alertmanager takes any number of alerts per request; this keeps one request's body to a few hundred KB.
    public var maxBatchSize: Int { 200 }
    let configuration: Configuration
    private let endpoint: ServiceEndpoint
    private let severity: [Priority: String]

    init(name: String, configuration: Configuration, endpoint: ServiceEndpoint) {
        self.name = name
        self.configuration = configuration
        self.endpoint = endpoint
        severity = Self.defaultSeverity.merging(configuration.severityMap) { _, custom in custom }
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        try await endpoint.post(try JSONBody.encode(alerts.map { postable($0.alert) }))
    }

    public func shutdown() async { await endpoint.shutdown() }

    func postable(_ alert: Alert) -> PostableAlert {
        var labels: [String: String] = [:]
        for (field, value) in alert.outputFields {
            if let label = AlertLabels.name(forField: field), let text = AlertLabels.value(value) { labels[label] = text }
        }
        // After the fields, so a field cannot hide what routes and silences match on.
        labels["alertname"] = alert.rule
        labels["rule"] = alert.rule
        labels["priority"] = alert.priority.name
        labels["severity"] = severity[alert.priority]
        labels["source"] = "falco"
        labels["eventsource"] = alert.source
        if !alert.cluster.isEmpty { labels["cluster"] = alert.cluster }
        if !alert.tags.isEmpty { labels["tags"] = alert.tags.sorted().joined(separator: ",") }
        labels.merge(configuration.extraLabels) { _, extra in extra }

        var annotations = ["info": alert.output, "description": alert.output, "summary": alert.rule]
        annotations.merge(configuration.extraAnnotations) { _, extra in extra }
        let endsAt = configuration.expiresAfter.map { expiry in
            let (seconds, attoseconds) = expiry.duration.components
            return Timestamp.rfc3339(alert.time + seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        return PostableAlert(labels: labels, annotations: annotations, startsAt: Timestamp.rfc3339(alert.time),
                             endsAt: endsAt, generatorURL: configuration.generatorURL?.text)
    }
}
