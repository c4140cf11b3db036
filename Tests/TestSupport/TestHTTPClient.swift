import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Requests a test makes itself, to a real server it started (to read back what an output
/// wrote, or to set the server up): AsyncHTTPClient's shared client, which needs no shutdown.
public enum TestHTTPClient {
    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() throws -> JSONValue { try JSONValue(parsing: body) }
    }

    public static func request(_ method: String = "GET", _ url: String, headers: [(String, String)] = [],
                               body: [UInt8]? = nil, timeout: Duration = .seconds(30)) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let (seconds, attoseconds) = timeout.components
        let response = try await HTTPClient.shared.execute(
            request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Response(status: Int(response.status.code), body: Array(bytes.readableBytesView))
    }

    /// A form-encoded POST (`application/x-www-form-urlencoded`).
    public static func postForm(_ url: String, _ fields: [(String, String)], headers: [(String, String)] = []) async throws -> Response {
        var components = URLComponents()
        components.queryItems = fields.map { URLQueryItem(name: $0.0, value: $0.1) }
        let form = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return try await request("POST", url, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                                 body: Array(form.utf8))
    }
}
