import NIOCore

/// What the server sends, decoded: an operation, or a message with its payload.
enum NATSFrame: Sendable, Equatable {
    case operation(NATSServerOperation)
    case message(subscription: Int, NATSMessage)
}

/// Decodes the server's byte stream into frames on the event loop and answers its PINGs there
/// (PONG), whatever the tasks that read the frames are doing: a server drops a client that
/// leaves its PINGs unanswered, and keepalive must not depend on how busy the process is.
final class NATSFrameDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = NATSFrame

    /// A control line longer than this is an error (INFO with a cluster's URLs stays far below).
    static let maxLineLength = 1 << 20
    private var buffer = ByteBuffer()
    /// Frames passed on so far (PINGs, answered here, are not passed on).
    private(set) var framesDecoded = 0
    var hasBufferedBytes: Bool { buffer.readableBytes > 0 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffer.readableBytes == 0 { buffer.discardReadBytes() }
        buffer.writeBuffer(&bytes)
        do {
            while let frame = try decodeFrame() {
                if case .operation(.ping) = frame {
                    context.writeAndFlush(NIOAny(ByteBuffer(string: "PONG\r\n")), promise: nil)
                    continue
                }
                framesDecoded += 1
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    /// The next whole frame in the buffer, nil until one has arrived completely.
    private func decodeFrame() throws -> NATSFrame? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            guard view.count <= Self.maxLineLength else { throw StreamError.lineTooLong(limit: Self.maxLineLength) }
            return nil
        }
        let lineLength = newline - view.startIndex
        var lineBytes = view[view.startIndex..<newline]
        if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
        let operation = try NATSServerOperation(line: String(decoding: lineBytes, as: UTF8.self))
        guard case .message(let subject, let subscription, let replyTo, let size) = operation else {
            buffer.moveReaderIndex(forwardBy: lineLength + 1)
            return .operation(operation)
        }
        guard view.count >= lineLength + 1 + size + 2 else { return nil }
        buffer.moveReaderIndex(forwardBy: lineLength + 1)
        let payload = buffer.readBytes(length: size)!
        guard buffer.readBytes(length: 2) == Array("\r\n".utf8) else {
            throw StreamError.protocolViolation("a MSG payload longer than its announced \(size) bytes")
        }
        return .message(subscription: subscription, NATSMessage(subject: subject, replyTo: replyTo, payload: payload))
    }
}

/// The async side's one iterator over a connection's frames.
struct NATSFrameReader {
    private var iterator: NIOAsyncChannelInboundStream<NATSFrame>.AsyncIterator
    /// Frames taken so far (compared with the decoder's count before TLS starts).
    private(set) var framesRead = 0

    init(_ inbound: NIOAsyncChannelInboundStream<NATSFrame>) {
        iterator = inbound.makeAsyncIterator()
    }

    mutating func next() async throws -> NATSFrame {
        guard let frame = try await iterator.next() else { throw StreamError.closedByPeer }
        framesRead += 1
        return frame
    }
}
