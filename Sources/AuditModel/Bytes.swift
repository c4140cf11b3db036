import Foundation

/// A read-only view of bytes owned by someone else: the JSON parser's buffers,
/// an event's arena, or a compiled constant. Comparisons work on bytes so the
/// hot path never builds a Swift `String`.
public struct ByteView: @unchecked Sendable {
    public let base: UnsafePointer<UInt8>?
    public let count: Int

    @inlinable
    public init(base: UnsafePointer<UInt8>?, count: Int) {
        self.base = base
        self.count = count
    }

    public static let empty = ByteView(base: nil, count: 0)

    @inlinable
    public var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    @inlinable
    public subscript(index: Int) -> UInt8 { base![index] }

    @inlinable
    public func slice(from start: Int, to end: Int) -> ByteView {
        ByteView(base: base.map { $0 + start }, count: end - start)
    }

    @inlinable
    public func equals(_ other: ByteView) -> Bool {
        count == other.count && (count == 0 || memcmp(base!, other.base!, count) == 0)
    }

    @inlinable
    public func hasPrefix(_ prefix: ByteView) -> Bool {
        prefix.count <= count && (prefix.count == 0 || memcmp(base!, prefix.base!, prefix.count) == 0)
    }

    @inlinable
    public func hasSuffix(_ suffix: ByteView) -> Bool {
        suffix.count <= count
            && (suffix.count == 0 || memcmp(base! + (count - suffix.count), suffix.base!, suffix.count) == 0)
    }

    /// Index of the first occurrence of `needle`, or nil.
    @inlinable
    public func firstRange(of needle: ByteView) -> Int? {
        if needle.count == 0 { return 0 }
        if needle.count > count { return nil }
        let first = needle.base![0]
        var index = 0
        let last = count - needle.count
        while index <= last {
            guard let found = memchr(base! + index, Int32(first), last - index + 1) else { return nil }
            let position = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base!
            if memcmp(base! + position, needle.base!, needle.count) == 0 { return position }
            index = position + 1
        }
        return nil
    }

    @inlinable
    public func contains(_ needle: ByteView) -> Bool { firstRange(of: needle) != nil }

    /// Byte-wise lexicographic order, as strcmp.
    @inlinable
    public func compare(_ other: ByteView) -> Int {
        let common = Swift.min(count, other.count)
        if common > 0 {
            let result = memcmp(base!, other.base!, common)
            if result != 0 { return Int(result) }
        }
        return count - other.count
    }

    public var string: String {
        String(decoding: buffer, as: UTF8.self)
    }

    /// The value as a signed integer when it is one, in decimal, with nothing around it.
    public var integerValue: Int64? {
        guard count > 0, count <= 20 else { return nil }
        var index = 0
        var negative = false
        if base![0] == UInt8(ascii: "-") || base![0] == UInt8(ascii: "+") {
            negative = base![0] == UInt8(ascii: "-")
            index = 1
            if count == 1 { return nil }
        }
        var value: Int64 = 0
        while index < count {
            let digit = base![index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = multiplied.addingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return nil }
            value = added
            index += 1
        }
        return negative ? -value : value
    }

    /// The value as a number (integer or decimal), when it is one.
    public var numberValue: Double? {
        if let integer = integerValue { return Double(integer) }
        guard count > 0, count < 64 else { return nil }
        // Decimal notation only: Double("nan"), "inf" and "0x1p3" parse too, but are not numbers here.
        for index in 0..<count {
            switch base![index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                 UInt8(ascii: "+"), UInt8(ascii: "-"):
                continue
            default:
                return nil
            }
        }
        return Double(string)
    }
}

/// Bytes that a compiled rule owns: constants of conditions and outputs.
/// Keeps its storage alive and hands out stable views of it.
public final class ByteConstant: @unchecked Sendable, Hashable, CustomStringConvertible {
    public let storage: UnsafeMutableBufferPointer<UInt8>
    public let view: ByteView
    public let string: String

    public init(_ string: String) {
        self.string = string
        let utf8 = Array(string.utf8)
        storage = .allocate(capacity: Swift.max(utf8.count, 1))
        _ = storage.initialize(from: utf8)
        view = ByteView(base: UnsafePointer(storage.baseAddress), count: utf8.count)
    }

    deinit { storage.deallocate() }

    public var description: String { string }

    public static func == (lhs: ByteConstant, rhs: ByteConstant) -> Bool { lhs.string == rhs.string }
    public func hash(into hasher: inout Hasher) { hasher.combine(string) }
}

/// Hexadecimal digits, for percent-decoding and the hex operands of bcontains.
public enum Hex {
    public static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
