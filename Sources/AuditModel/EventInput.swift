import Foundation

/// Reads audit events from a file or stream in any of the shapes people have
/// them: JSON lines of `Event`, one `EventList`, or a JSON array of events,
/// detected from the content. Each item keeps its original bytes and the line
/// it starts on, so problems can be reported as "line N: ...".
public final class EventInput {
    /// One item of the input: its bytes and the (1-based) line it starts on.
    public struct Item {
        public let bytes: UnsafeRawBufferPointer
        public let line: Int
    }

    /// Input that is not even shaped like events: the line and what is wrong.
    public struct Problem: Sendable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    private let splitter = EventListSplitter()
    private let chunkSize: Int

    public init(chunkSize: Int = 1 << 20) {
        self.chunkSize = chunkSize
    }

    /// Reads everything from `fd`, calling `item` for each event and `problem` for
    /// what cannot be an event. JSON lines are processed as they arrive, so a
    /// pipe (`kubectl logs -f … | auditpipe check`) is evaluated live.
    /// `afterChunk` runs after each chunk of a stream is evaluated, so output can be flushed while input is open.
    public func read(fd: Int32, item: (Item) throws -> Void, problem: (Problem) -> Void,
                     afterChunk: () -> Void = {}) throws {
        var buffer: [UInt8] = []
        var streaming: Bool?
        var lineNumber = 1
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var atEnd = false
        while !atEnd {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, chunkSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            if count == 0 {
                atEnd = true
            } else {
                buffer.append(contentsOf: chunk[0..<count])
            }
            if streaming == nil {
                streaming = decideStreaming(buffer, atEnd: atEnd)
            }
            if streaming == true {
                // Evaluate every complete line; keep the incomplete tail for the next read.
                guard let lastNewline = buffer.lastIndex(of: UInt8(ascii: "\n")) else {
                    if atEnd { try lines(buffer, firstLine: lineNumber, item: item, problem: problem) }
                    continue
                }
                let complete = Array(buffer[...lastNewline])
                try lines(complete, firstLine: lineNumber, item: item, problem: problem)
                lineNumber += complete.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                buffer.removeSubrange(...lastNewline)
                if atEnd, !buffer.isEmpty { try lines(buffer, firstLine: lineNumber, item: item, problem: problem) }
                afterChunk()
            }
        }
        if streaming != true {
            try whole(buffer, item: item, problem: problem)
        }
    }

    /// Reads a whole file.
    public func read(path: String, item: (Item) throws -> Void, problem: (Problem) -> Void) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOENT) }
        defer { close(fd) }
        try read(fd: fd, item: item, problem: problem)
    }

    /// JSON lines when the first line is a complete JSON object on its own (then the input
    /// cannot be one multi-line document); nil while the first line is still incomplete.
    private func decideStreaming(_ buffer: [UInt8], atEnd: Bool) -> Bool? {
        guard let first = buffer.firstIndex(where: { !Self.isSpace($0) }) else { return atEnd ? false : nil }
        guard buffer[first] == UInt8(ascii: "{") else { return buffer[first] == UInt8(ascii: "[") ? false : true }
        guard let newline = buffer[first...].firstIndex(of: UInt8(ascii: "\n")) else { return atEnd ? false : nil }
        let firstLine = Array(buffer[first..<newline])
        if case .object? = try? splitter.split(firstLine) { return true }
        return false
    }

    private func lines(_ bytes: [UInt8], firstLine: Int, item: (Item) throws -> Void, problem: (Problem) -> Void) throws {
        try bytes.withUnsafeBytes { raw in
            var line = firstLine
            var start = 0
            while start < raw.count {
                var end = start
                while end < raw.count, raw[end] != UInt8(ascii: "\n") { end += 1 }
                let slice = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                if slice.contains(where: { !Self.isSpace($0) }) {
                    try item(Item(bytes: slice, line: line))
                }
                line += 1
                start = end + 1
            }
        }
    }

    private func whole(_ bytes: [UInt8], item: (Item) throws -> Void, problem: (Problem) -> Void) throws {
        guard bytes.contains(where: { !Self.isSpace($0) }) else { return }
        let body: SplitBody
        do {
            body = try splitter.split(bytes)
        } catch let error as SplitError {
            // Not one JSON document: evaluate it line by line, each line reported on its own.
            if bytes.firstIndex(where: { !Self.isSpace($0) }).map({ bytes[$0] }) == UInt8(ascii: "[") {
                problem(Problem(line: Self.line(of: error.offset, in: bytes), reason: "invalid JSON array: \(error.reason)"))
                return
            }
            try lines(bytes, firstLine: 1, item: item, problem: problem)
            return
        }
        try bytes.withUnsafeBytes { raw in
            // Spans come in input order, so lines are counted once, incrementally.
            var countedTo = 0
            var line = 1
            func emit(_ span: ItemSpan) throws {
                while countedTo < span.offset {
                    if raw[countedTo] == UInt8(ascii: "\n") { line += 1 }
                    countedTo += 1
                }
                guard span.kind == .object else {
                    problem(Problem(line: line, reason: "not an audit event: an item that is not a JSON object"))
                    return
                }
                try item(Item(bytes: UnsafeRawBufferPointer(rebasing: raw[span.range]), line: line))
            }
            switch body {
            case .object(let span, _): try emit(span)
            case .list(let spans), .array(let spans): for span in spans { try emit(span) }
            case .scalar: problem(Problem(line: 1, reason: "not an audit event: a JSON value that is not an object"))
            }
        }
    }

    static func line(of offset: Int, in bytes: [UInt8]) -> Int {
        var line = 1
        for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") { line += 1 }
        return line
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
}
