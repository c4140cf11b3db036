import AsyncHTTPClient
import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOHTTP1

/// How HTTP outputs reach their service: one connection pool per output (so a slow service
/// never holds another's connections), TLS from the output's `tls` settings, each attempt
/// bounded by the output's `timeout`, and every answer classified for the delivery policy —
/// `send` returns only for 2xx and otherwise throws `DeliveryFailure` (see
/// `HTTPResponseClassification`; network errors and timeouts are transient).
public final class HTTPTransport: Sendable {
    public enum Method: String, Sendable {
        case post = "POST", put = "PUT"
    }

    public struct Request: Sendable {
        public var method: Method
        public var url: EndpointURL
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// How much of the response body is read (services whose answer lists every item of a
        /// batch, like Elasticsearch's bulk API, need more than the default).
        public var maxResponseBody = HTTPTransport.maxResponseBody

        public init(method: Method = .post, url: EndpointURL, headers: [(String, String)] = [], body: [UInt8]) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }

        /// A body of `contentType`, unless `headers` (the user's own) set another.
        public static func body(_ url: EndpointURL, method: Method = .post, contentType: String,
                                headers: [(String, String)] = [], body: [UInt8]) -> Request {
            let ownType = headers.contains { $0.0.caseInsensitiveCompare("Content-Type") == .orderedSame }
            return Request(method: method, url: url, headers: (ownType ? [] : [("Content-Type", contentType)]) + headers, body: body)
        }

        /// A JSON body, with its content type.
        public static func json(_ url: EndpointURL, method: Method = .post, headers: [(String, String)] = [],
                                body: [UInt8]) -> Request {
            Self.body(url, method: method, contentType: "application/json", headers: headers, body: body)
        }
    }

    public struct Response: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        /// At most the request's `maxResponseBody` bytes of the body.
        public let body: [UInt8]
        public var reasonPhrase = ""

        public init(status: Int, headers: [(String, String)], body: [UInt8], reasonPhrase: String = "") {
            self.status = status
            self.headers = headers
            self.body = body
            self.reasonPhrase = reasonPhrase
        }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    /// Enough for the answer of a service that does not list a batch's items.
    public static let maxResponseBody = 64 * 1024

    private let client: HTTPClient
    private let timeout: Duration
    private let output: String
    private let isShutDown = OnceFlag()

    /// A client for the output `common.name`, on the process's event loops, keeping up to
    /// `connections` connections to a host (as many requests in flight at once).
    public init(_ common: OutputSettings, context: OutputContext, connections: Int = 8) throws {
        output = common.name
        timeout = common.timeout.duration
        let tls = try common.tls.makeClientConfiguration(output: common.name)
        let amount = TimeAmount(timeout)
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // A redirected POST may turn into a GET without its body: refuse instead (see the classification).
            redirectConfiguration: .disallow,
            timeout: .init(connect: amount, read: amount),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections)))
        configuration.httpVersion = .automatic
        client = HTTPClient(eventLoopGroup: context.eventLoopGroup, configuration: configuration,
                            backgroundActivityLogger: context.logger)
    }

    /// Sends one request; returns the response of a 2xx, throws `DeliveryFailure` otherwise.
    /// `classify` replaces `HTTPResponseClassification` for services whose answers say more than
    /// their status (AWS sends throttling as 400): nil for delivered, the failure otherwise.
    @discardableResult
    public func send(_ request: Request, classifiedBy classify: ((Response) -> DeliveryFailure?)? = nil) async throws -> Response {
        let answer: Result<Response, any Error>
        do {
            answer = .success(try await start(request).get())
        } catch {
            answer = .failure(error)
        }
        return try outcome(of: request, answer, classifiedBy: classify)
    }

    /// Sends requests at the same time (each on a connection of its own) and returns when all
    /// answered. Fails when any failed: transiently if any failure is transient (the service
    /// may take the whole batch on a retry; waiting the longest Retry-After any answer asked
    /// for), permanently only when every failure is permanent.
    public func sendConcurrently(_ requests: [Request]) async throws {
        if requests.count <= 1 {
            if let request = requests.first { try await send(request) }
            return
        }
        // Started and joined on the event loops: one hop to and from Swift concurrency per batch,
        // not per request (per-request tasks cost more CPU than the requests themselves).
        let started = requests.map(start)
        let answers = try await EventLoopFuture.whenAllComplete(started, on: started[0].eventLoop).get()
        var failures: [DeliveryFailure] = []
        for (request, answer) in zip(requests, answers) {
            do {
                try outcome(of: request, answer, classifiedBy: nil)
            } catch let failure as DeliveryFailure {
                failures.append(failure)
            } catch {
                failures.append(.transient("\(error)"))
            }
        }
        guard let first = failures.first else { return }
        let summary = failures.count == 1 ? first.reason : "\(failures.count) of \(requests.count) requests failed; \(first.reason)"
        let waits = failures.compactMap { failure -> Duration?? in
            if case .transient(let retryAfter) = failure.kind { return .some(retryAfter) }
            return nil
        }
        if waits.isEmpty { throw DeliveryFailure.permanent(summary) }
        throw DeliveryFailure.transient(summary, retryAfter: waits.compactMap { $0 }.max())
    }

    /// Starts a request, bounded by the output's timeout; the future holds the answer, whatever its status.
    private func start(_ request: Request) -> EventLoopFuture<Response> {
        do {
            var headers = HTTPHeaders(request.headers)
            if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: "auditpipe") }
            let outgoing = try HTTPClient.Request(url: request.url.text, method: HTTPMethod(rawValue: request.method.rawValue),
                                                  headers: headers, body: .bytes(request.body))
            return client.execute(request: outgoing, delegate: CappedResponseCollector(limit: request.maxResponseBody),
                                  deadline: .now() + TimeAmount(timeout)).futureResult
        } catch {
            return client.eventLoopGroup.any().makeFailedFuture(error)
        }
    }

    /// The answer as the delivery policy sees it: the response of a 2xx, or a `DeliveryFailure`.
    @discardableResult
    private func outcome(of request: Request, _ answer: Result<Response, any Error>,
                         classifiedBy classify: ((Response) -> DeliveryFailure?)?) throws -> Response {
        let target = "\(request.method.rawValue) \(request.url.origin)"
        switch answer {
        case .success(let response):
            if let classify {
                if let failure = classify(response) { throw failure }
            } else if let failure = HTTPResponseClassification.failure(
                status: response.status, reasonPhrase: response.reasonPhrase, retryAfter: response.header("Retry-After"),
                body: response.body, method: request.method.rawValue, origin: request.url.origin) {
                throw failure
            }
            return response
        case .failure(let error as HTTPClientError) where error == .deadlineExceeded || error == .readTimeout
            || error == .connectTimeout || error == .tlsHandshakeTimeout:
            throw DeliveryFailure.transient("\(target): no answer within \(timeout) (\(error))")
        case .failure(let error as HTTPClientError) where error == .invalidURL || error == .emptyHost || error == .emptyScheme:
            throw DeliveryFailure.permanent("\(target): \(error)")
        case .failure(let error):
            // Refused and reset connections, TLS failures, DNS: the service may be back soon.
            throw DeliveryFailure.transient("\(target): \(error)")
        }
    }

    /// Closes the pooled connections; call once, after the last `send`.
    public func shutdown() async {
        guard isShutDown.set() else { return }
        do {
            try await client.shutdown()
        } catch {
            // Only fails when already shut down, which leaves nothing to release.
        }
    }

    /// A transport dropped without `shutdown` (an output built before another output's setup
    /// failed, say) still closes its connections: AsyncHTTPClient stops the process when a client
    /// it never shut down goes away, and a configuration error must not become a crash.
    deinit {
        if isShutDown.set() {
            client.shutdown().whenComplete { _ in }
        }
    }
}

/// Collects a response: its head and at most `limit` bytes of its body (the rest is read and
/// dropped, so an answer listing every item of a huge batch cannot grow without bound).
private final class CappedResponseCollector: HTTPClientResponseDelegate {
    typealias Response = HTTPTransport.Response

    private struct Collected {
        var head: HTTPResponseHead?
        var body: [UInt8] = []
    }

    private let limit: Int
    private let collected = NIOLockedValueBox(Collected())

    init(limit: Int) {
        self.limit = limit
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        collected.withLockedValue { $0.head = head }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        collected.withLockedValue { collected in
            let room = limit - collected.body.count
            if room > 0 { collected.body += buffer.readableBytesView.prefix(room) }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        try collected.withLockedValue { collected in
            guard let head = collected.head else { throw HTTPClientError.remoteConnectionClosed }
            return Response(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) },
                            body: collected.body, reasonPhrase: head.status.reasonPhrase)
        }
    }
}
