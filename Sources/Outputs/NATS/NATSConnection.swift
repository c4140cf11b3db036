import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Settings
import Synchronization

/// Where a NATS server listens.
struct NATSServerAddress: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    /// `tls://`: the client insists on TLS even if the server does not require it.
    var requiresTLS: Bool

    var description: String { "\(host):\(port)" }

    /// `nats://host:port`, `tls://host:port` or `host:port` (port 4222 when left out).
    init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        requiresTLS = false
        if let schemeEnd = rest.range(of: "://") {
            switch rest[..<schemeEnd.lowerBound].lowercased() {
            case "nats": break
            case "tls": requiresTLS = true
            default: return nil
            }
            rest = rest[schemeEnd.upperBound...]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("@"), !rest.contains("/") else { return nil }
        if let address = ListenAddress(parsing: String(rest)), !address.host.contains(":") || rest.hasPrefix("[") {
            host = address.host
            port = address.port
        } else {
            // No port: a name, an IPv4 address, or a bare or bracketed IPv6 address.
            if rest.hasPrefix("["), rest.hasSuffix("]") { rest = rest.dropFirst().dropLast() }
            guard !rest.isEmpty, !rest.contains("[") else { return nil }
            host = String(rest)
            port = 4222
        }
        guard port > 0 else { return nil }
    }

    init(host: String, port: Int, requiresTLS: Bool = false) {
        self.host = host
        self.port = port
        self.requiresTLS = requiresTLS
    }
}

/// What a NATS connection needs besides the server's address.
struct NATSConnectionOptions: Sendable {
    var name: String
    var auth: NATSAuth
    /// Used when the address (`tls://`) or the server asks for TLS.
    var tls: NIOSSLContext
    var timeout: Duration
    var eventLoopGroup: any EventLoopGroup

    /// Options with TLS from `tls` (read now: an unusable file fails here, naming `output`).
    init(name: String, auth: NATSAuth, tls: TLSSettings, output: String, timeout: Duration,
         eventLoopGroup: any EventLoopGroup) throws {
        self.name = name
        self.auth = auth
        self.tls = try NIOSSLContext(configuration: tls.makeClientConfiguration(output: output))
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
    }
}

/// One client connection to a NATS server, speaking the client protocol: INFO, TLS when either
/// side asks, CONNECT with credentials, then PUB and SUB. The server's frames are decoded on the
/// event loop, which also answers its PINGs (so an idle connection is never declared stale); a
/// reader task takes the rest for the connection's life: it hands MSGs to subscriptions and
/// matches each PONG to the oldest PING the client sent. A publish is confirmed when the PONG for the PING that follows it arrives: the
/// server handles a connection's operations in order, so by then it has processed every PUB
/// before it, and any `-ERR` they caused came first.
final class NATSConnection: Sendable {
    let server: NATSServerAddress
    let serverInfo: NATSServerInfo
    private let channel: any Channel
    private let state = Mutex(State())

    private struct State {
        /// One per PING sent, oldest first; each collects the -ERRs that arrive before its PONG.
        var waiters: [(continuation: CheckedContinuation<[String], any Error>, errors: [String])] = []
        var subscriptions: [Int: AsyncStream<NATSMessage>.Continuation] = [:]
        var nextSubscription = 1
        /// Why the connection ended; set once.
        var closedBecause: (any Error)?
        /// The last -ERR received: a server closes the connection right after a fatal one, and
        /// that -ERR, not the closing, is what the waiters should hear.
        var lastServerError: String?
    }

    private init(server: NATSServerAddress, serverInfo: NATSServerInfo, channel: any Channel) {
        self.server = server
        self.serverInfo = serverInfo
        self.channel = channel
    }

    var isClosed: Bool { state.withLock { $0.closedBecause != nil } }

    /// Connects to the first server of `servers` that answers; throws the last failure otherwise.
    static func connect(to servers: [NATSServerAddress], options: NATSConnectionOptions) async throws -> NATSConnection {
        var lastError: any Error = StreamError.protocolViolation("no server address")
        for server in servers {
            do {
                return try await connect(to: server, options: options)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    static func connect(to server: NATSServerAddress, options: NATSConnectionOptions) async throws -> NATSConnection {
        let asyncChannel = try await StreamConnection.open(
            host: server.host, port: server.port, implicitTLS: nil, group: options.eventLoopGroup,
            connectTimeout: options.timeout, inbound: NATSFrame.self) { try $0.addHandler(NATSFrameDecoder()) }
        let handshakeDeadline = ConnectionDeadline(channel: asyncChannel.channel, limit: options.timeout)
        return try await withCheckedThrowingContinuation { ready in
            // The connection's life: handshake, then reading until the channel closes.
            Task {
                let pending = NIOLockedValueBox<CheckedContinuation<NATSConnection, any Error>?>(ready)
                func resolve(_ result: Result<NATSConnection, any Error>) {
                    pending.withLockedValue { pending in
                        pending?.resume(with: result)
                        pending = nil
                    }
                }
                do {
                    try await asyncChannel.executeThenClose { inbound, outbound in
                        var reader = NATSFrameReader(inbound)
                        let writer = StreamWriter(outbound: outbound, channel: asyncChannel.channel)
                        let connection: NATSConnection
                        do {
                            connection = try await handshakeDeadline.run {
                                try await handshake(server: server, options: options, reader: &reader, writer: writer)
                            }
                        } catch {
                            resolve(.failure(error))
                            return
                        }
                        resolve(.success(connection))
                        await connection.readUntilClosed(&reader)
                    }
                } catch {
                    resolve(.failure(error))
                }
            }
        }
    }

    private static func handshake(server: NATSServerAddress, options: NATSConnectionOptions,
                                  reader: inout NATSFrameReader, writer: StreamWriter) async throws -> NATSConnection {
        guard case .operation(.info(let json)) = try await reader.next() else {
            throw StreamError.protocolViolation("the server did not start with INFO (is this a NATS client port?)")
        }
        let info: NATSServerInfo
        do {
            info = try NATSServerInfo(json: json)
        } catch {
            throw StreamError.protocolViolation("unreadable INFO: \(error)")
        }
        let useTLS = server.requiresTLS || info.tlsRequired
        if useTLS {
            guard info.tlsRequired || info.tlsAvailable else {
                throw DeliveryFailure.permanent("\(server): TLS was asked for (tls://) but the NATS server does not offer it")
            }
            let framesRead = reader.framesRead
            try await writer.startTLS(TLSClient(context: options.tls, serverName: server.host)) { pipeline in
                let decoder = try pipeline.handler(type: NATSFrameDecoder.self)
                return !decoder.hasBufferedBytes && decoder.framesDecoded == framesRead
            }
        }
        let connect = NATSConnectOptions(name: options.name, tlsRequired: useTLS, auth: options.auth)
        do {
            try await writer.write(try connect.line() + "PING\r\n")
        } catch {
            // A server that closed the connection may have said why first (an -ERR such as an
            // authentication timeout), which says more than the failed write.
            if case .operation(.error(let message))? = try? await reader.next() {
                throw NATSServerError(messages: [message])
            }
            throw error
        }
        while true {
            switch try await reader.next() {
            case .operation(.pong):
                return NATSConnection(server: server, serverInfo: info, channel: writer.channel)
            case .operation(.error(let message)):
                throw NATSServerError(messages: [message])
            case .operation(.ok), .operation(.info), .operation(.ping), .operation(.message):
                continue
            case .message:
                throw StreamError.protocolViolation("MSG before the connection was established")
            }
        }
    }

    /// Publishes the messages and returns once the server has processed them (see the type's
    /// comment). Throws `NATSServerError` when the server refused any, else a connection error.
    func publish(_ messages: [(subject: String, payload: [UInt8])], timeout: Duration) async throws {
        var buffer = channel.allocator.buffer(capacity: messages.reduce(8) { $0 + $1.payload.count + $1.subject.count + 20 })
        for message in messages {
            buffer.writeNATSPublish(subject: message.subject, payload: message.payload)
        }
        let errors = try await roundTrip(buffer, timeout: timeout)
        if !errors.isEmpty { throw NATSServerError(messages: errors) }
    }

    /// Subscribes; the server has registered the subscription when this returns.
    func subscribe(to subject: String, timeout: Duration) async throws -> AsyncStream<NATSMessage> {
        let (stream, continuation) = AsyncStream<NATSMessage>.makeStream()
        let id = state.withLock { state in
            defer { state.nextSubscription += 1 }
            state.subscriptions[state.nextSubscription] = continuation
            return state.nextSubscription
        }
        let errors = try await roundTrip(ByteBuffer(string: "SUB \(subject) \(id)\r\n"), timeout: timeout)
        if !errors.isEmpty { throw NATSServerError(messages: errors) }
        return stream
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Sends `bytes` and a PING, and waits for its PONG. The waiter is queued and the bytes are
    /// written in one event-loop turn, so waiters are in the same order as PINGs on the wire even
    /// when several callers publish at once.
    private func roundTrip(_ bytes: ByteBuffer, timeout: Duration) async throws -> [String] {
        var bytes = bytes
        bytes.writeString("PING\r\n")
        let deadline = ConnectionDeadline(channel: channel, limit: timeout)
        return try await deadline.run {
            try await withCheckedThrowingContinuation { continuation in
                channel.eventLoop.execute { [channel, bytes] in
                    let closedBecause: (any Error)? = self.state.withLock { state in
                        if let reason = state.closedBecause { return reason }
                        state.waiters.append((continuation, []))
                        return nil
                    }
                    if let closedBecause {
                        continuation.resume(throwing: closedBecause)
                        return
                    }
                    // A failed write means a closed channel: the reader then ends the connection for
                    // every waiter, with the server's last word (an -ERR) when it had one.
                    channel.writeAndFlush(bytes).whenFailure { _ in channel.close(promise: nil) }
                }
            }
        }
    }

    /// Reads frames until the connection ends (PINGs never come here: the decoder answers them).
    private func readUntilClosed(_ reader: inout NATSFrameReader) async {
        do {
            while true {
                switch try await reader.next() {
                case .operation(.pong):
                    let waiter = state.withLock { state in state.waiters.isEmpty ? nil : state.waiters.removeFirst() }
                    guard let waiter else { throw StreamError.protocolViolation("PONG without a PING") }
                    waiter.continuation.resume(returning: waiter.errors)
                case .operation(.error(let message)):
                    state.withLock { state in
                        state.lastServerError = message
                        if !state.waiters.isEmpty { state.waiters[0].errors.append(message) }
                    }
                case .message(let subscription, let message):
                    let continuation = state.withLock { $0.subscriptions[subscription] }
                    continuation?.yield(message)
                case .operation(.ok), .operation(.info), .operation(.ping), .operation(.message):
                    continue
                }
            }
        } catch {
            channel.close(promise: nil)
            finish(because: error)
        }
    }

    /// Ends the connection for everyone waiting on it, with the server's last -ERR if it sent one.
    private func finish(because error: any Error) {
        let (waiters, subscriptions, reason) = state.withLock { state -> ([CheckedContinuation<[String], any Error>], [AsyncStream<NATSMessage>.Continuation], any Error) in
            if state.closedBecause == nil {
                state.closedBecause = state.lastServerError.map { NATSServerError(messages: [$0]) } ?? error
            }
            defer {
                state.waiters = []
                state.subscriptions = [:]
            }
            return (state.waiters.map(\.continuation), Array(state.subscriptions.values), state.closedBecause!)
        }
        for waiter in waiters { waiter.resume(throwing: reason) }
        for subscription in subscriptions { subscription.finish() }
    }
}
