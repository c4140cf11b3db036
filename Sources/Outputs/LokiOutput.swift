import Foundation
import Rules
import Settings

/// Grafana Loki through its push API: a batch of alerts is one `POST <url>/loki/api/v1/push`,
/// grouped into streams by their labels — `priority`, `rule`, `cluster`, `source`, `tags`, the
/// output's custom fields (as falcosidekick labels them) and the output fields named in
/// `extra_labels` — each line at the alert's time in nanoseconds.
///
/// ```yaml
/// - name: loki
///   type: loki
///   url: http://loki:3100                # required; pushes go to <url>/loki/api/v1/push
///   tenant: security                     # optional X-Scope-OrgID (multi-tenant Loki)
///   extra_labels: [ka.target.namespace]  # output fields made labels (ka_target_namespace)
///   format: text                         # text: the alert's output line (default); json: the alert's JSON
///   username: 123456                     # basic authentication (Grafana Cloud: user and API key), or
///   password: glc_...
///   # bearer_token: eyJhbGciOi...        # a bearer token (not both)
///   headers: {X-Proxy-Token: abc}        # optional, added to every request
/// ```
///
/// Labels name a stream, so they hold only what the same alert always has (not the engine's
/// hostname: a replay from another engine would land in a second stream); keep `extra_labels`
/// to fields with few distinct values, as Loki indexes every label combination.
public struct LokiOutput: AlertOutput {
    public enum Format: String, Decodable, Sendable {
        case text, json
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "loki"
        public var url: EndpointURL
        public var tenant: String?
        public var extraLabels: [String] = []
        public var format = Format.text
        public var authorization: HTTPAuthorization?
        /// Headers added to every request (falcosidekick's customheaders), e.g. for a proxy in front.
        public var headers = HeaderSettings()

        enum CodingKeys: String, CodingKey {
            case url, tenant, extraLabels, format, headers
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(EndpointURL.self, forKey: .url)
            tenant = try container.decodeIfPresent(String.self, forKey: .tenant)
            if let tenant, tenant.isEmpty || tenant.contains(where: { $0.isNewline }) {
                throw DecodingError.dataCorruptedError(forKey: .tenant, in: container, debugDescription: "tenant must be one non-empty line")
            }
            extraLabels = try container.decodeIfPresent([String].self, forKey: .extraLabels) ?? []
            for field in extraLabels where AlertLabels.name(forField: field) == nil {
                throw DecodingError.dataCorruptedError(forKey: .extraLabels, in: container,
                                                       debugDescription: "'\(field)' gives no label name (it has no letter or digit)")
            }
            format = try container.decodeIfPresent(Format.self, forKey: .format) ?? format
            headers = try container.decodeIfPresent(HeaderSettings.self, forKey: .headers) ?? headers
            authorization = try HTTPAuthorization.decode(from: decoder, tokenKey: "bearer_token", scheme: "Bearer")
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            LokiOutput(name: common.name, configuration: self, customFields: Array(common.customFields.keys), endpoint: ServiceEndpoint(
                transport: try HTTPTransport(common, context: context), url: url.appendingPath("/loki/api/v1/push"),
                contentType: "application/json", authorization: authorization, headers: tenant.map { [("X-Scope-OrgID", $0)] } ?? [],
                custom: headers))
        }
    }

    /// The push API's body: `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"], …]}]}`.
    struct PushRequest: Encodable {
        struct Stream: Encodable {
            let stream: [String: String]
            var values: [[String]]
        }

        let streams: [Stream]
    }

    public let name: String
    /// About 1 MB per push with typical alerts (Loki's default limit for a push is a few MB).
    public var maxBatchSize: Int { 1000 }
    let configuration: Configuration
    private let endpoint: ServiceEndpoint
    /// Output fields that become labels, with their label names.
    private let labelledFields: [(field: String, label: String)]

    init(name: String, configuration: Configuration, customFields: [String], endpoint: ServiceEndpoint) {
        self.name = name
        self.configuration = configuration
        self.endpoint = endpoint
        labelledFields = Set(customFields + configuration.extraLabels).sorted().compactMap { field in
            AlertLabels.name(forField: field).map { (field, $0) }
        }
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        try await endpoint.post(try JSONBody.encode(push(alerts)))
    }

    public func shutdown() async { await endpoint.shutdown() }

    /// The batch as streams, in order of each stream's first alert, each stream's lines in time order.
    func push(_ alerts: [OutputAlert]) -> PushRequest {
        var streams: [PushRequest.Stream] = []
        var streamIndex: [[String: String]: Int] = [:]
        var times: [[Int64]] = []
        for alert in alerts {
            let labels = labels(alert.alert)
            let line = configuration.format == .json ? String(decoding: alert.json, as: UTF8.self) : alert.alert.output
            let index: Int
            if let known = streamIndex[labels] {
                index = known
            } else {
                index = streams.count
                streamIndex[labels] = index
                streams.append(PushRequest.Stream(stream: labels, values: []))
                times.append([])
            }
            streams[index].values.append([String(alert.alert.time), line])
            times[index].append(alert.alert.time)
        }
        // Loki before 2.4 refuses lines older than the stream's newest; sorting costs little.
        for index in streams.indices where zip(times[index], times[index].dropFirst()).contains(where: { $0 > $1 }) {
            let order = times[index].indices.sorted { (times[index][$0], $0) < (times[index][$1], $1) }
            streams[index].values = order.map { streams[index].values[$0] }
        }
        return PushRequest(streams: streams)
    }

    func labels(_ alert: Alert) -> [String: String] {
        var labels: [String: String] = [:]
        for (field, label) in labelledFields {
            if let value = alert.outputField(field).flatMap(AlertLabels.value) { labels[label] = value }
        }
        labels["priority"] = alert.priority.name
        labels["rule"] = alert.rule
        labels["source"] = alert.source
        if !alert.cluster.isEmpty { labels["cluster"] = alert.cluster }
        if !alert.tags.isEmpty { labels["tags"] = alert.tags.sorted().joined(separator: ",") }
        return labels
    }
}
