import CSimdJSON

/// The kind of a JSON value, as simdjson reports it.
public enum JSONKind: Int32, Sendable {
    case missing = 0, null, bool, int64, uint64, double, string, array, object
}

/// A JSON value that could not be parsed, with simdjson's reason.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public var description: String { String(cString: ap_error_message(code)) }
}

/// One parsed JSON document at a time (simdjson's DOM), reused for every
/// event a thread evaluates. Node handles are plain integers valid until the
/// next `parse`. Not thread-safe: each worker owns its own.
public final class JSONDocument {
    public typealias Node = Int32
    public static let root: Node = 0
    public static let none: Node = -1

    private let handle: OpaquePointer
    private var childBuffer = [Int32](repeating: 0, count: 64)

    public init() {
        guard let handle = ap_doc_create() else { fatalError("simdjson: out of memory creating a parser") }
        self.handle = handle
    }

    deinit { ap_doc_destroy(handle) }

    public func parse(_ bytes: UnsafeRawBufferPointer) throws {
        let code = ap_doc_parse(handle, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        if code != 0 { throw JSONParseError(code: code) }
    }

    public func parse(_ bytes: [UInt8]) throws {
        let code = bytes.withUnsafeBufferPointer { ap_doc_parse(handle, $0.baseAddress, $0.count) }
        if code != 0 { throw JSONParseError(code: code) }
    }

    @inline(__always)
    public func kind(_ node: Node) -> JSONKind {
        JSONKind(rawValue: ap_node_type(handle, node)) ?? .missing
    }

    @inline(__always)
    public func child(_ node: Node, _ key: ByteView) -> Node {
        guard node >= 0 else { return Self.none }
        return ap_object_get(handle, node, key.base, key.count)
    }

    public func count(_ node: Node) -> Int {
        guard node >= 0 else { return 0 }
        return ap_node_count(handle, node)
    }

    /// The elements of an array (empty for anything else).
    public func elements(_ node: Node) -> ArraySlice<Int32> {
        guard node >= 0 else { return [] }
        var total = childBuffer.withUnsafeMutableBufferPointer {
            ap_array_children(handle, node, $0.baseAddress, $0.count)
        }
        if total > childBuffer.count {
            childBuffer = [Int32](repeating: 0, count: total)
            total = childBuffer.withUnsafeMutableBufferPointer {
                ap_array_children(handle, node, $0.baseAddress, $0.count)
            }
        }
        return childBuffer[0..<total]
    }

    /// Keys and values of an object, in document order.
    public func entries(_ node: Node) -> [(key: ByteView, value: Node)] {
        let size = count(node)
        guard size > 0, kind(node) == .object else { return [] }
        var keys = [UnsafePointer<UInt8>?](repeating: nil, count: size)
        var lengths = [Int](repeating: 0, count: size)
        var values = [Int32](repeating: -1, count: size)
        _ = ap_object_entries(handle, node, &keys, &lengths, &values, size)
        return (0..<size).map { (ByteView(base: keys[$0], count: lengths[$0]), values[$0]) }
    }

    @inline(__always)
    public func string(_ node: Node) -> ByteView? {
        var pointer: UnsafePointer<UInt8>?
        var length = 0
        guard ap_node_string(handle, node, &pointer, &length) else { return nil }
        return ByteView(base: pointer, count: length)
    }

    public func bool(_ node: Node) -> Bool? {
        var value = false
        return ap_node_bool(handle, node, &value) ? value : nil
    }

    public func int64(_ node: Node) -> Int64? {
        var value: Int64 = 0
        return ap_node_int64(handle, node, &value) ? value : nil
    }

    public func uint64(_ node: Node) -> UInt64? {
        var value: UInt64 = 0
        return ap_node_uint64(handle, node, &value) ? value : nil
    }

    public func double(_ node: Node) -> Double? {
        var value: Double = 0
        return ap_node_double(handle, node, &value) ? value : nil
    }

    /// Compact JSON text of a node, valid until the next call or parse: copy it.
    public func json(_ node: Node) -> ByteView {
        var length = 0
        let pointer = ap_node_json(handle, node, &length)
        return ByteView(base: pointer, count: length)
    }
}
