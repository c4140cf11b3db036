import CSimdJSON

/// What a request body or input file holds, split into items whose bytes are
/// the input's own (never re-encoded), with simdjson's on-demand parser.
public enum SplitBody: Sendable {
    /// A single JSON object: the whole input.
    case object(ItemSpan, kind: String?)
    /// An `EventList` (an object with an `items` array): its items.
    case list([ItemSpan])
    /// A top-level JSON array: its elements.
    case array([ItemSpan])
    /// Valid JSON that is neither object nor array.
    case scalar
}

/// Where an item sits in its input.
public struct ItemSpan: Sendable, Equatable {
    public let offset: Int
    public let length: Int
    public let kind: JSONKind
    public var range: Range<Int> { offset..<(offset + length) }
}

/// JSON that could not be split, with the byte offset where the problem was noticed.
public struct SplitError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public let offset: Int
    public var description: String { "\(reason) (near byte \(offset))" }
}

/// Splits bodies into items. Reuses its buffers: one per thread.
public final class EventListSplitter {
    private let handle: OpaquePointer

    public init() {
        guard let handle = ap_splitter_create() else { fatalError("simdjson: out of memory creating a splitter") }
        self.handle = handle
    }

    deinit { ap_splitter_destroy(handle) }

    public func split(_ bytes: UnsafeRawBufferPointer) throws -> SplitBody {
        var spans: UnsafePointer<ap_span>?
        var count = 0
        var kindPointer: UnsafePointer<CChar>?
        var kindLength = 0
        var errorCode: Int32 = 0
        var errorOffset = 0
        let result = ap_split(handle, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
                              &spans, &count, &kindPointer, &kindLength, &errorCode, &errorOffset)
        let items = (0..<count).map { index in
            let span = spans![index]
            return ItemSpan(offset: span.offset, length: span.length, kind: JSONKind(rawValue: span.type) ?? .missing)
        }
        let kind = kindPointer.map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: kindLength), as: UTF8.self)
        }
        switch Int(result) {
        case Int(AP_SPLIT_OBJECT.rawValue): return .object(items[0], kind: kind)
        case Int(AP_SPLIT_LIST.rawValue): return .list(items)
        case Int(AP_SPLIT_ARRAY.rawValue): return .array(items)
        case Int(AP_SPLIT_SCALAR.rawValue): return .scalar
        default:
            throw SplitError(reason: String(cString: ap_error_message(errorCode)), offset: errorOffset)
        }
    }

    public func split(_ bytes: [UInt8]) throws -> SplitBody {
        try bytes.withUnsafeBytes { try split($0) }
    }
}
