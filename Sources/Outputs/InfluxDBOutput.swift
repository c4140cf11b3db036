import Foundation
import Rules
import Settings

/// InfluxDB through its write API, in line protocol: a batch of alerts is one write, a point per
/// alert, to InfluxDB 1.x (`POST <url>/write?db=…&precision=ns`, user and password) or 2.x
/// (`POST <url>/api/v2/write?org=…&bucket=…&precision=ns`, `Authorization: Token …`).
///
/// ```yaml
/// - name: influxdb
///   type: influxdb
///   url: http://influxdb:8086            # required
///   database: falco                      # InfluxDB 1.x: the database (and optionally retention_policy: autogen)
///   username: sink                       # 1.x authentication (with password)
///   password: s3cr3t
///   # org: security                      # InfluxDB 2.x: org and bucket instead of database,
///   # bucket: falco
///   # token: Z3V0ZW4gVGFn...             # and an API token
///   measurement: falco                   # default falco (falcosidekick wrote `events`)
///   extra_tags: [ka.target.namespace]    # output fields written as tags instead of fields
///   headers: {X-Proxy-Token: abc}        # optional, added to every request
/// ```
///
/// A point is `falco,cluster=…,priority=…,rule=…,source=…,<custom fields> output="…",value=1i,id="…",
/// hostname="…",<output fields>="…" <time in ns>`. Tags are what dashboards group by, so they are
/// the alert's few-valued fields and the output's custom fields; every other output field is a
/// string field (one type whatever the value, so no write can fail on a field type conflict).
/// `value` is 1 so that `sum("value")` and `count("value")` count alerts.
///
/// InfluxDB keeps one point per series and timestamp: two alerts of the same rule and cluster in
/// the same microsecond would overwrite each other. Kubernetes times have microsecond precision,
/// so the three digits below it (always 0) are taken from the alert id: such alerts stay two
/// points, and a replayed alert writes the same point again.
public struct InfluxDBOutput: AlertOutput {
    public enum Target: Sendable, Equatable {
        /// InfluxDB 1.x.
        case database(String, retentionPolicy: String?)
        /// InfluxDB 2.x.
        case bucket(String, org: String)
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "influxdb"
        public var url: EndpointURL
        public var target: Target
        public var measurement = "falco"
        public var extraTags: [String] = []
        public var authorization: HTTPAuthorization?
        /// Headers added to every request (falcosidekick's customheaders), e.g. for a proxy in front.
        public var headers = HeaderSettings()

        enum CodingKeys: String, CodingKey {
            case url, database, retentionPolicy, org, bucket, measurement, extraTags, headers
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(EndpointURL.self, forKey: .url)
            let database = try container.decodeIfPresent(String.self, forKey: .database)
            let retentionPolicy = try container.decodeIfPresent(String.self, forKey: .retentionPolicy)
            let org = try container.decodeIfPresent(String.self, forKey: .org)
            let bucket = try container.decodeIfPresent(String.self, forKey: .bucket)
            switch (database, bucket) {
            case (let database?, nil):
                if org != nil {
                    throw DecodingError.dataCorruptedError(forKey: .org, in: container,
                                                           debugDescription: "org is for InfluxDB 2 (with bucket), not with database")
                }
                target = .database(database, retentionPolicy: retentionPolicy)
            case (nil, let bucket?):
                guard let org else {
                    throw DecodingError.dataCorruptedError(forKey: .bucket, in: container,
                                                           debugDescription: "InfluxDB 2 needs org with bucket")
                }
                if retentionPolicy != nil {
                    throw DecodingError.dataCorruptedError(forKey: .retentionPolicy, in: container,
                                                           debugDescription: "retention_policy is for InfluxDB 1 (with database), not with bucket")
                }
                target = .bucket(bucket, org: org)
            case (.some, .some):
                throw DecodingError.dataCorruptedError(forKey: .bucket, in: container,
                                                       debugDescription: "set database (InfluxDB 1) or bucket and org (InfluxDB 2), not both")
            case (nil, nil):
                throw DecodingError.dataCorruptedError(forKey: .url, in: container,
                                                       debugDescription: "set database (InfluxDB 1) or bucket and org (InfluxDB 2)")
            }
            measurement = try container.decodeIfPresent(String.self, forKey: .measurement) ?? measurement
            if measurement.isEmpty || measurement.hasPrefix("_") {
                throw DecodingError.dataCorruptedError(forKey: .measurement, in: container,
                                                       debugDescription: "a measurement name is not empty and does not start with _ (InfluxDB reserves those)")
            }
            extraTags = try container.decodeIfPresent([String].self, forKey: .extraTags) ?? []
            headers = try container.decodeIfPresent(HeaderSettings.self, forKey: .headers) ?? headers
            authorization = try HTTPAuthorization.decode(from: decoder, tokenKey: "token", scheme: "Token")
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            let writes = switch target {
            case .database(let database, let retentionPolicy):
                url.appendingPath("/write", query: [("db", database)] + (retentionPolicy.map { [("rp", $0)] } ?? []) + [("precision", "ns")])
            case .bucket(let bucket, let org):
                url.appendingPath("/api/v2/write", query: [("org", org), ("bucket", bucket), ("precision", "ns")])
            }
            return InfluxDBOutput(name: common.name, configuration: self, customFields: Array(common.customFields.keys),
                                  endpoint: ServiceEndpoint(transport: try HTTPTransport(common, context: context), url: writes,
                                                            contentType: "text/plain; charset=utf-8", authorization: authorization, custom: headers))
        }
    }

    /// Names a point always has; an output field of the same name is left out rather than collide.
    static let reservedNames: Set<String> = ["cluster", "priority", "rule", "source", "output", "value", "id", "hostname"]

    public let name: String
    /// InfluxDB's advice for a write: about 5,000 points.
    public var maxBatchSize: Int { 5000 }
    let configuration: Configuration
    private let endpoint: ServiceEndpoint
    /// Output fields written as tags (custom fields and `extra_tags`), sorted as InfluxDB prefers.
    private let taggedFields: [String]

    init(name: String, configuration: Configuration, customFields: [String], endpoint: ServiceEndpoint) {
        self.name = name
        self.configuration = configuration
        self.endpoint = endpoint
        taggedFields = Set(customFields + configuration.extraTags).subtracting(Self.reservedNames).sorted()
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        try await endpoint.post(points(alerts))
    }

    public func shutdown() async { await endpoint.shutdown() }

    /// One point per alert, a line each.
    func points(_ alerts: [OutputAlert]) -> [UInt8] {
        var lines = InfluxLineProtocol(capacity: alerts.count * 512)
        for output in alerts {
            let alert = output.alert
            lines.measurement(configuration.measurement)
            // Tags in key order (InfluxDB sorts them anyway; sorted input saves it the work).
            var tags: [(String, String)] = [("cluster", alert.cluster), ("priority", alert.priority.name),
                                            ("rule", alert.rule), ("source", alert.source)]
            for field in taggedFields {
                if let value = alert.outputField(field).flatMap(AlertLabels.value) { tags.append((field, value)) }
            }
            for (key, value) in tags.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }) { lines.tag(key, value) }
            lines.stringField("output", alert.output, first: true)
            lines.integerField("value", 1)
            lines.stringField("id", alert.id)
            if !alert.hostname.isEmpty { lines.stringField("hostname", alert.hostname) }
            for (field, value) in alert.outputFields where !Self.reservedNames.contains(field) && !taggedFields.contains(field) {
                if let text = AlertLabels.value(value) { lines.stringField(field, text) }
            }
            lines.end(timestamp: Self.timestamp(alert))
        }
        return lines.bytes
    }

    /// The alert's time, its sub-microsecond digits taken from the id when it has none (see above).
    static func timestamp(_ alert: Alert) -> Int64 {
        guard alert.time % 1000 == 0 else { return alert.time }
        var hash: UInt32 = 0x811c_9dc5  // FNV-1a: the same id gives the same digits in every process
        for byte in alert.id.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return alert.time + Int64(hash % 1000)
    }
}
