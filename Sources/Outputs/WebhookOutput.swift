/// falcosidekick's `webhook` output: each alert's JSON sent to a URL with POST or PUT and the
/// headers the receiver needs; mTLS through the common `tls` settings (falcosidekick's `mutualtls`).
///
/// ```yaml
/// - name: soar
///   type: webhook
///   url: https://soar.example.com/api/alerts   # required
///   method: POST                               # or PUT
///   headers: {X-Api-Key: s3cr3t}               # falcosidekick's customHeaders
///   tls: {cert_file: client.pem, key_file: client.key, ca_file: ca.pem}
/// ```
public enum WebhookOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "webhook"
        public var url: EndpointURL
        public var method = HTTPTransport.Method.post
        public var headers = HeaderSettings()

        enum CodingKeys: String, CodingKey {
            case url, method, headers
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(EndpointURL.self, forKey: .url)
            if let text = try container.decodeIfPresent(String.self, forKey: .method) {
                guard let method = HTTPTransport.Method(rawValue: text.uppercased()) else {
                    throw DecodingError.dataCorruptedError(forKey: .method, in: container, debugDescription: "method '\(text)' is not POST or PUT")
                }
                self.method = method
            }
            headers = try container.decodeIfPresent(HeaderSettings.self, forKey: .headers) ?? headers
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            HTTPOutput(name: common.name, transport: try HTTPTransport(common, context: context, connections: HTTPOutput.concurrency),
                       method: method, url: url,
                       format: .json, headers: headers.pairs)
        }
    }
}
