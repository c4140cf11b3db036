import AuditModel
import Foundation
import Rules
import Settings

/// Elasticsearch (and OpenSearch) through the bulk API: a batch of alerts is one
/// `POST <url>/_bulk` of NDJSON, each alert an action line and its document (the alert's JSON, as
/// falcosidekick indexes it). The alert `id` is the document `_id`, so a replayed alert
/// overwrites its document instead of adding a second one. Documents go to an index per day of
/// the alert's time (`<index>-YYYY.MM.DD`, UTC), or to a data stream.
///
/// ```yaml
/// - name: elasticsearch
///   type: elasticsearch
///   url: https://es.example.com:9200     # required; bulk requests go to <url>/_bulk
///   index: falco                         # the index name's prefix (default falco)
///   suffix: daily                        # daily: falco-2026.11.26 (default), monthly, annually, none
///   # data_stream: true                   # `index` names a data stream: `create` actions, @timestamp added, no suffix
///   pipeline: k8s-audit                  # optional ingest pipeline
///   flatten_fields: false                # true: `ka.user.name` -> `ka_user_name` in output_fields
///   username: sink                       # basic authentication (with password), or
///   password: s3cr3t
///   # api_key: VnVhQ2ZHY0JDZGJrUW...     # an API key, as Elasticsearch encodes it (not both)
///   headers: {X-Proxy-Token: abc}        # optional, added to every request
/// ```
///
/// A bulk request answers 200 even when some documents were refused: each item's status is read.
/// Items refused with 429 or 5xx make the batch worth retrying (the documents that went in are
/// overwritten by the retry, not duplicated); items refused otherwise (a mapping conflict) make it
/// permanent, and the delivery policy then sends the alerts one by one and dead-letters the refused ones.
public struct ElasticsearchOutput: AlertOutput {
    /// Which index a document goes to, from the alert's time.
    public enum Suffix: String, Decodable, Sendable {
        case daily, monthly, annually, none
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "elasticsearch"
        public var url: EndpointURL
        public var index = "falco"
        public var suffix = Suffix.daily
        public var dataStream = false
        public var pipeline: String?
        public var flattenFields = false
        public var authorization: HTTPAuthorization?
        /// Headers added to every request (falcosidekick's customheaders), e.g. for a proxy in front.
        public var headers = HeaderSettings()

        enum CodingKeys: String, CodingKey {
            case url, index, suffix, dataStream, pipeline, flattenFields, headers
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(EndpointURL.self, forKey: .url)
            index = try container.decodeIfPresent(String.self, forKey: .index) ?? index
            if let problem = Self.problem(withIndexName: index) {
                throw DecodingError.dataCorruptedError(forKey: .index, in: container, debugDescription: problem)
            }
            dataStream = try container.decodeIfPresent(Bool.self, forKey: .dataStream) ?? false
            if let suffix = try container.decodeIfPresent(Suffix.self, forKey: .suffix) {
                if dataStream, suffix != .none {
                    throw DecodingError.dataCorruptedError(
                        forKey: .suffix, in: container,
                        debugDescription: "a data stream rolls over by itself: leave suffix out (or none) with data_stream")
                }
                self.suffix = suffix
            } else if dataStream {
                suffix = .none
            }
            pipeline = try container.decodeIfPresent(String.self, forKey: .pipeline)
            flattenFields = try container.decodeIfPresent(Bool.self, forKey: .flattenFields) ?? false
            headers = try container.decodeIfPresent(HeaderSettings.self, forKey: .headers) ?? headers
            authorization = try HTTPAuthorization.decode(from: decoder, tokenKey: "api_key", scheme: "ApiKey")
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            // Only what is read back: the errors flag and each item's status and error (not the
            // index, id, version and shards of every document that went in).
            var query = [("filter_path", "errors,items.*.status,items.*.error")]
            if let pipeline { query.append(("pipeline", pipeline)) }
            return ElasticsearchOutput(name: common.name, configuration: self, endpoint: ServiceEndpoint(
                transport: try HTTPTransport(common, context: context), url: url.appendingPath("/_bulk", query: query),
                contentType: "application/x-ndjson", authorization: authorization, custom: headers))
        }

        /// Elasticsearch's rules for index names, checked when the configuration is read rather
        /// than on every bulk item.
        static func problem(withIndexName name: String) -> String? {
            if name.isEmpty || name == "." || name == ".." { return "'\(name)' is not an index name" }
            if name != name.lowercased() { return "index names are lowercase: '\(name)'" }
            if let first = name.first, "-_+".contains(first) { return "an index name cannot start with '\(first)'" }
            if let bad = name.first(where: { "\\/*?\"<>| ,#:".contains($0) }) {
                return "an index name cannot contain '\(bad)': '\(name)'"
            }
            // 255 bytes at most, with room for the longest suffix (-YYYY.MM.DD).
            if name.utf8.count > 244 { return "index name too long (\(name.utf8.count) bytes, at most 244)" }
            return nil
        }
    }

    public let name: String
    /// A bulk request of a few MB at most (Elasticsearch advises 5–15 MB per bulk request).
    public var maxBatchSize: Int { 1000 }
    let configuration: Configuration
    private let endpoint: ServiceEndpoint

    init(name: String, configuration: Configuration, endpoint: ServiceEndpoint) {
        self.name = name
        self.configuration = configuration
        self.endpoint = endpoint
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        // The answer lists every item: up to a few hundred bytes for each refused one.
        let response = try await endpoint.post(bulkBody(alerts), maxResponseBody: 1024 * 1024 + alerts.count * 1024)
        try BulkAnswer.check(response.body, alerts: alerts, origin: configuration.url.origin)
    }

    public func shutdown() async { await endpoint.shutdown() }

    /// The NDJSON body: per alert, the action line and the document, each ending in a newline.
    func bulkBody(_ alerts: [OutputAlert]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(alerts.reduce(0) { $0 + $1.json.count + 160 })
        for alert in alerts {
            var action = configuration.dataStream ? #"{"create":{"_index":"# : #"{"index":{"_index":"#
            AlertEncoder.appendString(index(for: alert.alert.time), to: &action)
            action += #","_id":"#
            AlertEncoder.appendString(alert.alert.id, to: &action)
            action += "}}\n"
            body += action.utf8
            body += document(alert)
            body.append(UInt8(ascii: "\n"))
        }
        return body
    }

    func index(for time: Int64) -> String {
        let date = Timestamp.rfc3339(time)  // 2026-11-26T10:00:00.000000000Z
        let year = date.prefix(4), month = date.dropFirst(5).prefix(2), day = date.dropFirst(8).prefix(2)
        switch configuration.suffix {
        case .daily: return "\(configuration.index)-\(year).\(month).\(day)"
        case .monthly: return "\(configuration.index)-\(year).\(month)"
        case .annually: return "\(configuration.index)-\(year)"
        case .none: return configuration.index
        }
    }

    /// The alert's JSON as one line, as the engine published it unless a setting changes it.
    func document(_ alert: OutputAlert) -> [UInt8] {
        var json = alert.json
        if configuration.flattenFields {
            // `ka.req.pod.containers.image` and `ka.req.pod.containers.image.repository` cannot both
            // be mapped (one is a value, the other needs it to be an object): flat names avoid that.
            var flat = alert.alert
            flat.outputFields = flat.outputFields.map { (String($0.0.map { $0 == "." ? "_" : $0 }), $0.1) }
            json = Array(AlertEncoder.json(flat).utf8)
        } else if json.contains(UInt8(ascii: "\n")) || json.first != UInt8(ascii: "{") {
            // NDJSON needs the document on one line; the engine writes compact JSON, but not every producer may.
            json = Array(AlertEncoder.json(alert.alert).utf8)
        }
        guard configuration.dataStream else { return json }
        // Data streams need @timestamp; it goes first, before the alert's own keys.
        var stamped = Array(#"{"@timestamp":""#.utf8) + Array(Timestamp.rfc3339(alert.alert.time).utf8) + Array(#"","#.utf8)
        stamped += json.dropFirst()
        return stamped
    }
}

/// The bulk API's answer, read back with `filter_path=errors,items.*.status,items.*.error`.
enum BulkAnswer {
    struct Body: Decodable {
        let errors: Bool?
        /// One object per action, in request order: `{"index": {"status": 201}}`.
        let items: [[String: Item]]?
    }

    struct Item: Decodable {
        let status: Int
        let error: ItemError?
    }

    /// `{"type": "mapper_parsing_exception", "reason": "..."}` (a bare string in old versions).
    struct ItemError: Decodable, CustomStringConvertible {
        let type: String?
        let reason: String?

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                type = nil
                reason = text
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decodeIfPresent(String.self, forKey: .type)
            reason = try container.decodeIfPresent(String.self, forKey: .reason)
        }

        enum CodingKeys: String, CodingKey {
            case type, reason
        }

        var description: String { [type, reason].compactMap { $0 }.joined(separator: ": ") }
    }

    /// Returns when every document went in (or, for `create`, was already there); otherwise
    /// throws a failure that is transient when any item may succeed on a retry.
    static func check(_ bytes: [UInt8], alerts: [OutputAlert], origin: String) throws {
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch {
            throw DeliveryFailure.transient(
                "POST \(origin)/_bulk: unreadable answer (\(HTTPResponseClassification.quote(bytes)))")
        }
        guard body.errors == true else { return }
        guard let items = body.items, items.count == alerts.count else {
            throw DeliveryFailure.transient(
                "POST \(origin)/_bulk: errors reported for \(body.items?.count ?? 0) items, \(alerts.count) sent")
        }
        var retryable: [String] = [], refused: [String] = []
        for (alert, item) in zip(alerts, items) {
            guard let (action, result) = item.first else { continue }
            switch result.status {
            case 200..<300: continue
            // `create` of a document that exists: an earlier attempt already delivered it.
            case 409 where action == "create": continue
            case 429, 500..<600:
                retryable.append("\(alert.alert.id): \(result.status) \(result.error?.description ?? "")")
            default:
                refused.append("\(alert.alert.id): \(result.status) \(result.error?.description ?? "")")
            }
        }
        if retryable.isEmpty, refused.isEmpty { return }
        let failed = retryable + refused
        let reason = "POST \(origin)/_bulk: \(failed.count) of \(alerts.count) documents refused ("
            + failed.prefix(3).joined(separator: "; ") + (failed.count > 3 ? "; …" : "") + ")"
        throw retryable.isEmpty ? DeliveryFailure.permanent(reason) : DeliveryFailure.transient(reason)
    }
}
