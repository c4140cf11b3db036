import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A TCP connection to the server of a line-based protocol (SMTP, NATS), plain or TLS from the
/// first byte, used through `NIOAsyncChannel.executeThenClose` with a reader of its inbound side
/// and a `StreamWriter`.
enum StreamConnection {
    /// A connection whose inbound side is the bytes as they come (SMTP).
    static func open(host: String, port: Int, implicitTLS: TLSClient?, group: any EventLoopGroup,
                     connectTimeout: Duration) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await open(host: host, port: port, implicitTLS: implicitTLS, group: group, connectTimeout: connectTimeout,
                       inbound: ByteBuffer.self) { try $0.addHandler(InboundByteCounter()) }
    }

    /// A connection whose inbound side is what `addDecoder` makes of the bytes (NATS frames,
    /// decoded on the event loop), after TLS when `implicitTLS` is given.
    static func open<Inbound: Sendable>(host: String, port: Int, implicitTLS: TLSClient?, group: any EventLoopGroup,
                                        connectTimeout: Duration, inbound: Inbound.Type,
                                        addDecoder: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void)
        async throws -> NIOAsyncChannel<Inbound, ByteBuffer> {
        let (channel, handshake) = try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    var handshake: EventLoopFuture<Void>?
                    if let implicitTLS {
                        let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise())
                        try channel.pipeline.syncOperations.addHandlers(try implicitTLS.makeHandler(), waiter)
                        handshake = waiter.promise.futureResult
                    }
                    try addDecoder(channel.pipeline.syncOperations)
                    return (try NIOAsyncChannel<Inbound, ByteBuffer>(wrappingChannelSynchronously: channel), handshake)
                }
            }
        if let handshake {
            do {
                try await handshake.get()
            } catch {
                try? await channel.channel.close()
                throw error
            }
        }
        return channel
    }
}

/// What went wrong on a stream connection, in words that name the server.
enum StreamError: Error, CustomStringConvertible {
    case closedByPeer
    case lineTooLong(limit: Int)
    case protocolViolation(String)
    case timedOut(Duration)

    var description: String {
        switch self {
        case .closedByPeer: return "the server closed the connection"
        case .lineTooLong(let limit): return "the server sent a line longer than \(limit) bytes"
        case .protocolViolation(let what): return "protocol violation: \(what)"
        case .timedOut(let limit): return "no answer within \(limit)"
        }
    }
}

/// Counts the bytes that arrive from the network, below the async channel's buffer, so that
/// STARTTLS can tell whether the server sent anything after its go-ahead that the reader has
/// not seen: such bytes would be read as if they came through TLS (response injection).
final class InboundByteCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private(set) var count = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        count += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }
}

/// Reports the end of the TLS handshake of the handler before it: its success, or the error
/// that ended it (an unknown CA, a wrong name), which a read or write after it would only
/// report as a closed channel.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let promise: EventLoopPromise<Void>
    private var done = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { finish(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(StreamError.closedByPeer))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(StreamError.closedByPeer))
    }
}

/// Reads a connection's bytes as CRLF-terminated lines (SMTP replies). Owns the channel's one
/// inbound iterator.
struct StreamReader {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer = ByteBuffer()
    /// Every byte taken from the channel so far (buffered or already returned).
    private(set) var bytesReceived = 0
    let maxLineLength: Int

    init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, maxLineLength: Int) {
        iterator = inbound.makeAsyncIterator()
        self.maxLineLength = maxLineLength
    }

    var hasBufferedBytes: Bool { buffer.readableBytes > 0 }

    /// The next line without its line ending (CRLF; a bare LF is accepted, as most clients do).
    mutating func readLine() async throws -> String {
        var searchedUpTo = 0
        while true {
            let view = buffer.readableBytesView
            if let newline = view.dropFirst(searchedUpTo).firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - view.startIndex
                var line = buffer.readSlice(length: length + 1)!
                var bytes = line.readBytes(length: length)!
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard view.count <= maxLineLength else { throw StreamError.lineTooLong(limit: maxLineLength) }
            searchedUpTo = view.count
            try await receive()
        }
    }

    private mutating func receive() async throws {
        guard var chunk = try await iterator.next() else { throw StreamError.closedByPeer }
        bytesReceived += chunk.readableBytes
        if buffer.readableBytes == 0 { buffer.discardReadBytes() }
        buffer.writeBuffer(&chunk)
    }
}

/// Writes to a connection, and upgrades it to TLS in the middle of the conversation (STARTTLS,
/// NATS's TLS after INFO).
struct StreamWriter: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel

    func write(_ bytes: ByteBuffer) async throws {
        try await outbound.write(bytes)
    }

    func write(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// Puts TLS under the conversation and returns when the handshake is done. Refused when the
    /// server sent bytes the reader has not consumed: they arrived in plain text and must not
    /// pass for encrypted ones.
    func startTLS(_ tls: TLSClient, after reader: StreamReader) async throws {
        let received = reader.bytesReceived
        let readerHasBufferedBytes = reader.hasBufferedBytes
        try await startTLS(tls) { pipeline in
            try !readerHasBufferedBytes && pipeline.handler(type: InboundByteCounter.self).count == received
        }
    }

    /// Puts TLS under the conversation once `nothingUnread` confirms, on the event loop (so that
    /// no byte can arrive in between), that everything received so far was read.
    func startTLS(_ tls: TLSClient,
                  nothingUnread: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Bool) async throws {
        let handshake = try await channel.eventLoop.submit { [channel] in
            // A channel the server closed meanwhile has no handlers left.
            guard channel.isActive, let unread = try? !nothingUnread(channel.pipeline.syncOperations) else {
                throw StreamError.closedByPeer
            }
            guard !unread else {
                throw StreamError.protocolViolation("the server sent data after agreeing to start TLS")
            }
            let handler = try tls.makeHandler()
            let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise())
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            try channel.pipeline.syncOperations.addHandler(waiter, position: .after(handler))
            return waiter.promise.futureResult
        }.get()
        try await handshake.get()
    }
}

/// A time limit on a conversation: when it passes, the channel is closed, which ends whatever
/// waits on it, and `run` reports that as a timeout.
struct ConnectionDeadline: Sendable {
    private let fired = NIOLockedValueBox(false)
    private let scheduled: Scheduled<Void>
    private let eventLoop: any EventLoop
    let limit: Duration

    init(channel: any Channel, limit: Duration) {
        self.limit = limit
        eventLoop = channel.eventLoop
        let fired = self.fired
        scheduled = channel.eventLoop.scheduleTask(in: TimeAmount(limit)) {
            fired.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
    }

    /// Cancels the deadline and tells whether it had passed (and closed the channel): on the
    /// event loop, where the closing runs, so the answer cannot change afterwards.
    private func settle() async -> Bool {
        let (scheduled, fired) = (self.scheduled, self.fired)
        let expired = try? await eventLoop.submit {
            scheduled.cancel()
            return fired.withLockedValue { $0 }
        }.get()
        return expired ?? true
    }

    /// Runs `body`; an error caused by the deadline closing the channel becomes `timedOut`, and
    /// so does a success that came too late (the channel was closed just after it).
    func run<Result>(_ body: () async throws -> Result) async throws -> Result {
        let result: Result
        do {
            result = try await body()
        } catch {
            if await settle() { throw StreamError.timedOut(limit) }
            throw error
        }
        if await settle() { throw StreamError.timedOut(limit) }
        return result
    }
}

extension DeliveryFailure {
    /// A failure to reach or talk to `server`: transient, since the network, the server or its
    /// certificate may be fixed by the next attempt.
    static func connection(_ error: any Error, server: String) -> DeliveryFailure {
        if let failure = error as? DeliveryFailure { return failure }
        switch error {
        case let error as StreamError:
            return .transient("\(server): \(error)")
        case let error as NIOConnectionError:
            let reasons = error.connectionErrors.map { "\($0.target): \($0.error)" }
            let cause = reasons.isEmpty ? (error.dnsAError ?? error.dnsAAAAError).map { "\($0)" } ?? "no address" : reasons.joined(separator: "; ")
            return .transient("cannot connect to \(server): \(cause)")
        case let error as IOError:
            return .transient("\(server): \(error.description)")
        case ChannelError.connectTimeout(let limit):
            return .transient("cannot connect to \(server) within \(limit)")
        case let error as NIOSSLError:
            return .transient("TLS with \(server) failed: \(error)")
        case let error as BoringSSLError:
            return .transient("TLS with \(server) failed: \(error)")
        case let error as NIOSSLExtraError:
            return .transient("TLS with \(server) failed: \(error)")
        default:
            return .transient("\(server): \(error)")
        }
    }
}
