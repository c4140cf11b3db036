import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One request as the receiver got it.
public struct ReceivedRequest: Sendable {
    public let method: String
    /// The path without the query, as sent (not percent-decoded).
    public let path: String
    /// The raw query string (after `?`), nil when there was none.
    public let query: String?
    public let headers: [(String, String)]
    public let body: [UInt8]

    public init(method: String, path: String, query: String? = nil, headers: [(String, String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (names compare case-insensitively).
    public func header(_ name: String) -> String? { headerValues(name).first }

    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.0.caseInsensitiveCompare(name) == .orderedSame }.map(\.1)
    }

    /// The query's parameters, percent-decoded (the last value wins for repeated names).
    public var queryItems: [String: String] {
        var components = URLComponents()
        components.percentEncodedQuery = query
        var items: [String: String] = [:]
        for item in components.queryItems ?? [] { items[item.name] = item.value ?? "" }
        return items
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON; throws when it is not JSON.
    public func json() throws -> JSONValue { try JSONValue(parsing: body) }
}

/// What the receiver answers: a status, headers, a body, optionally after a delay (to make a
/// client time out).
public struct ScriptedReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String
    public var delay: Duration

    public init(status: Int, headers: [(String, String)] = [], body: String = "", delay: Duration = .zero) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay
    }

    public static let ok = ScriptedReply(status: 200, body: "ok")
}

/// A strict HTTP server on 127.0.0.1 (a free port) standing in for a service that cannot run
/// here (Slack, Datadog, …): it records every request, checks each with the test's validator —
/// the service's documented API — and answers 400 with the validator's reason when the request
/// does not match (so a wrong payload fails delivery, as the real service would refuse it),
/// otherwise the next scripted reply (429, 500, …) or the default one. Optional TLS, and mTLS
/// that refuses clients without a certificate from the test CA.
public final class HTTPTestReceiver: Sendable {
    /// nil when the request is what the service accepts; otherwise why not.
    public typealias Validator = @Sendable (ReceivedRequest) -> String?

    public struct TLS: Sendable {
        public var certificates: TestCertificates
        public var requireClientCertificate: Bool

        public init(_ certificates: TestCertificates, requireClientCertificate: Bool = false) {
            self.certificates = certificates
            self.requireClientCertificate = requireClientCertificate
        }
    }

    fileprivate struct State {
        var requests: [ReceivedRequest] = []
        var requestCount = 0
        var inFlight = 0
        var maxInFlight = 0
        var rejections: [(ReceivedRequest, String)] = []
        var script: [ScriptedReply] = []
        var defaultReply: ScriptedReply
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    public let port: Int
    /// The TLS settings it serves with (keeping the test's certificate files alive as long as it runs).
    public let tls: TLS?
    public var isTLS: Bool { tls != nil }
    private let validator: Validator?
    private let state: NIOLockedValueBox<State>
    private let serverChannel: NIOLockedValueBox<(any Channel)?>

    /// `recording: false` keeps only counts (for benchmarks sending many requests).
    public init(tls: TLS? = nil, validator: Validator? = nil, reply: ScriptedReply = .ok, recording: Bool = true) async throws {
        self.validator = validator
        self.tls = tls
        state = NIOLockedValueBox(State(defaultReply: reply))
        serverChannel = NIOLockedValueBox(nil)
        let sslContext = try tls.map { try Self.makeSSLContext($0) }
        let state = self.state
        let responder = Responder(validator: validator, state: state, recording: recording)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                state.withLockedValue { $0.connections[id] = channel }
                channel.closeFuture.whenComplete { _ in _ = state.withLockedValue { $0.connections.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    if let sslContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(responder: responder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        serverChannel.withLockedValue { $0 = channel }
    }

    /// `http(s)://127.0.0.1:<port>`.
    public var baseURL: String { "\(isTLS ? "https" : "http")://127.0.0.1:\(port)" }

    public func url(_ pathAndQuery: String) -> String { baseURL + pathAndQuery }

    /// Replies for the next valid requests, in order; then the default reply again.
    public func script(_ replies: ScriptedReply...) {
        state.withLockedValue { $0.script += replies }
    }

    public func setDefaultReply(_ reply: ScriptedReply) {
        state.withLockedValue { $0.defaultReply = reply }
    }

    /// Every request received, in arrival order (valid or not).
    public var requests: [ReceivedRequest] { state.withLockedValue { $0.requests } }

    /// The requests the validator refused, with its reasons.
    public var rejections: [(request: ReceivedRequest, reason: String)] {
        state.withLockedValue { $0.rejections.map { (request: $0.0, reason: $0.1) } }
    }

    /// How many requests arrived (also when not recording).
    public var requestCount: Int { state.withLockedValue { $0.requestCount } }

    /// The most requests that were waiting for their reply at the same time.
    public var maxInFlight: Int { state.withLockedValue { $0.maxInFlight } }

    /// Client connections open now.
    public var openConnections: Int { state.withLockedValue { $0.connections.count } }

    /// Waits (bounded) until at least `count` requests arrived; returns them all.
    @discardableResult
    public func waitForRequests(_ count: Int, within limit: Duration = .seconds(30)) async -> [ReceivedRequest] {
        _ = await eventually(within: limit) { requests.count >= count }
        return requests
    }

    /// Stops listening and closes every open connection (as a service going down would).
    public func stop() async {
        let listener = serverChannel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try? await listener?.close()
        let open = state.withLockedValue { Array($0.connections.values) }
        for connection in open { try? await connection.close() }
    }

    deinit {
        if let listener = serverChannel.withLockedValue({ $0 }) { listener.close(promise: nil) }
        for connection in state.withLockedValue({ Array($0.connections.values) }) { connection.close(promise: nil) }
    }

    private static func makeSSLContext(_ tls: TLS) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificates.serverCertFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: tls.certificates.serverKeyFile, format: .pem))
        var configuration: TLSConfiguration
        if tls.requireClientCertificate {
            let authorities = try NIOSSLCertificate.fromPEMFile(tls.certificates.caFile)
            configuration = .makeServerConfigurationWithMTLS(certificateChain: chain, privateKey: key,
                                                             trustRoots: .certificates(authorities))
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Decides the answer to each complete request; shared by all connections.
    fileprivate struct Responder: Sendable {
        let validator: Validator?
        let state: NIOLockedValueBox<State>
        let recording: Bool

        func reply(to request: ReceivedRequest) -> ScriptedReply {
            let problem = validator?(request)
            return state.withLockedValue { state in
                state.requestCount += 1
                state.inFlight += 1
                state.maxInFlight = max(state.maxInFlight, state.inFlight)
                if recording { state.requests.append(request) }
                if let problem {
                    state.rejections.append((request, problem))
                    return ScriptedReply(status: 400, headers: [("Content-Type", "text/plain")], body: problem)
                }
                return state.script.isEmpty ? state.defaultReply : state.script.removeFirst()
            }
        }

        func replied() {
            state.withLockedValue { $0.inFlight -= 1 }
        }
    }
}

/// Collects one request's head and body, then writes the responder's reply.
private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: HTTPTestReceiver.Responder
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(responder: HTTPTestReceiver.Responder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let chunk):
            body += chunk.readableBytesView
        case .end:
            guard let head else { return }
            self.head = nil
            let (path, query) = Self.split(head.uri)
            let request = ReceivedRequest(method: head.method.rawValue, path: path, query: query,
                                          headers: head.headers.map { ($0.name, $0.value) }, body: body)
            let reply = responder.reply(to: request)
            let keepAlive = head.isKeepAlive
            if reply.delay > .zero {
                let nanoseconds = reply.delay.components.seconds * 1_000_000_000 + reply.delay.components.attoseconds / 1_000_000_000
                context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                    self.write(reply, keepAlive: keepAlive, version: head.version, context: context)
                }
            } else {
                write(reply, keepAlive: keepAlive, version: head.version, context: context)
            }
        }
    }

    private func write(_ reply: ScriptedReply, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        responder.replied()
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders(reply.headers)
        let bytes = Array(reply.body.utf8)
        headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private static func split(_ uri: String) -> (String, String?) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, nil) }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}
