import Foundation

/// Falco's `http_output`: each alert POSTed to a URL as Falco posts it — its JSON
/// (`application/json`) or, with `format: text`, its output line (`text/plain`) — with Falco's
/// user agent unless told otherwise, and any headers the receiver needs (a token, …).
/// Up to `maxBatchSize` requests are in flight at once, so alerts may arrive out of order and a
/// batch retried after a failure repeats the alerts of it that had arrived (they keep their
/// `id`); `batch: {max_size: 1}` sends one at a time.
///
/// ```yaml
/// - name: siem
///   type: http
///   url: https://siem.example.com/falco   # required
///   format: json                          # json (default) or text, as Falco's json_output true/false
///   user_agent: falcosecurity/falco       # the default, as Falco sends
///   headers: {Authorization: Bearer s3cr3t}
///   tls: {ca_file: /etc/ssl/private-ca.pem, cert_file: client.pem, key_file: client.key}
/// ```
public struct HTTPOutput: PerAlertHTTPOutput {
    public enum Format: String, Decodable, Sendable {
        case json, text
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "http"
        public var url: EndpointURL
        public var format = Format.json
        public var userAgent = "falcosecurity/falco"
        public var headers = HeaderSettings()

        enum CodingKeys: String, CodingKey {
            case url, format, userAgent, headers
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(EndpointURL.self, forKey: .url)
            format = try container.decodeIfPresent(Format.self, forKey: .format) ?? format
            userAgent = try container.decodeIfPresent(String.self, forKey: .userAgent) ?? userAgent
            headers = try container.decodeIfPresent(HeaderSettings.self, forKey: .headers) ?? headers
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            HTTPOutput(name: common.name, transport: try HTTPTransport(common, context: context, connections: HTTPOutput.concurrency),
                       method: .post, url: url,
                       format: format, headers: [("User-Agent", userAgent)] + headers.pairs)
        }
    }

    /// Requests in flight at once (generic receivers take parallel requests; the sink's target
    /// throughput is out of reach one round trip at a time).
    static let concurrency = 64

    public let name: String
    public let transport: HTTPTransport
    public var maxBatchSize: Int { Self.concurrency }
    let method: HTTPTransport.Method
    let url: EndpointURL
    let format: Format
    let headers: [(String, String)]

    /// Also the webhook output's: the same request, other settings (see `WebhookOutput`).
    init(name: String, transport: HTTPTransport, method: HTTPTransport.Method, url: EndpointURL, format: Format,
         headers: [(String, String)]) {
        self.name = name
        self.transport = transport
        self.method = method
        self.url = url
        self.format = format
        self.headers = headers
    }

    public func request(for alert: OutputAlert) throws -> HTTPTransport.Request {
        switch format {
        case .json:
            // The engine's bytes unchanged (custom fields are already in them): receivers get Falco's JSON.
            .json(url, method: method, headers: headers, body: alert.json)
        case .text:
            .body(url, method: method, contentType: "text/plain; charset=utf-8", headers: headers, body: Array(alert.alert.output.utf8))
        }
    }
}

/// Extra request headers from the configuration (`headers: {Name: value}`), in name order so
/// requests are reproducible.
public struct HeaderSettings: Decodable, Sendable, Equatable {
    public var values: [String: String] = [:]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        values = try container.decode([String: String].self)
        for (name, value) in values {
            let invalidName = name.isEmpty || name.unicodeScalars.contains { $0.value <= 32 || $0.value >= 127 || "()<>@,;:\\\"/[]?={}".unicodeScalars.contains($0) }
            if invalidName || value.contains(where: \.isNewline) {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid header '\(name)': names are tokens and values one line")
            }
        }
    }

    public var pairs: [(String, String)] { values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}
