import Foundation

/// An `http://` or `https://` URL from the configuration, checked when the file is read so a
/// typo is reported at its line instead of failing every delivery later.
public struct EndpointURL: Decodable, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let isHTTPS: Bool
    /// `scheme://host[:port]` only: webhook URLs often carry their secret in the path or query
    /// (Slack, Mattermost, Teams), so logs, errors and dead-letter headers name only this part.
    public let origin: String

    public init?(_ text: String) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else { return nil }
        self.text = text
        isHTTPS = scheme == "https"
        origin = "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let url = EndpointURL(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not an http:// or https:// URL with a host")
        }
        self = url
    }

    /// This URL with `path` in place of its own (for APIs whose path is fixed, like Datadog's
    /// `/api/v1/events`, reached through a configurable host).
    public func replacingPath(_ path: String) -> EndpointURL {
        var components = URLComponents(string: text)!
        components.path = path
        return EndpointURL(components.string!)!
    }

    /// This URL with `path` added to its own path (an API's fixed path under a base URL that may
    /// carry a prefix, `https://proxy/loki` + `/loki/api/v1/push`) and `query` parameters added
    /// to its own, percent-encoded.
    public func appendingPath(_ path: String, query: [(String, String)] = []) -> EndpointURL {
        var components = URLComponents(string: text)!
        let base = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        components.path = base + path
        if !query.isEmpty {
            components.queryItems = (components.queryItems ?? []) + query.map { URLQueryItem(name: $0.0, value: $0.1) }
            // URLComponents leaves `+` alone, which servers read as a space in a query.
            components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        }
        return EndpointURL(components.string!)!
    }

    public var description: String { origin }
}

extension KeyedDecodingContainer {
    /// Where a hosted service's API is (Datadog, Opsgenie): the URL its site or region names,
    /// or `apiURL` (a proxy, another installation) with the API's `path` — one or the other.
    /// `resolve` turns the location (nil when not set) into the URL, nil if it names none.
    func decodeServiceEndpoint<Location: Decodable>(apiURL: Key, location: Key, path: String,
                                                    resolve: (Location?) -> EndpointURL?) throws -> EndpointURL {
        let named = try decodeIfPresent(Location.self, forKey: location)
        if let url = try decodeIfPresent(EndpointURL.self, forKey: apiURL) {
            guard named == nil else {
                throw DecodingError.dataCorruptedError(forKey: location, in: self,
                                                       debugDescription: "set \(location.stringValue) or \(apiURL.stringValue), not both")
            }
            return url.replacingPath(path)
        }
        guard let url = resolve(named) else {
            throw DecodingError.dataCorruptedError(forKey: location, in: self,
                                                   debugDescription: "'\(named.map { "\($0)" } ?? "")' names no \(path) endpoint")
        }
        return url
    }
}
