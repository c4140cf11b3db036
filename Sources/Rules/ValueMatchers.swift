import AuditModel

/// Tests one field value against a comparison's constant. One subclass per
/// operator, chosen when the condition compiles, so evaluation is a virtual call.
class ValueMatcher: @unchecked Sendable {
    func matches(_ value: ByteView) -> Bool { false }
}

/// `=` and `!=` on bytes.
final class EqualMatcher: ValueMatcher, @unchecked Sendable {
    let constant: ByteConstant
    let negate: Bool
    init(_ text: String, negate: Bool = false) {
        constant = ByteConstant(text)
        self.negate = negate
    }
    override func matches(_ value: ByteView) -> Bool { value.equals(constant.view) != negate }
}

/// Equality on numeric fields (jevt.rawtime): "0" and "00" are the same number.
/// Integers compare exactly (nanosecond times are beyond a Double's 2^53).
final class NumericEqualMatcher: ValueMatcher, @unchecked Sendable {
    let number: Double
    let integer: Int64?
    let negate: Bool
    init(_ number: Double, integer: Int64? = nil, negate: Bool) {
        self.number = number
        self.integer = integer
        self.negate = negate
    }
    override func matches(_ value: ByteView) -> Bool {
        if let integer, let actual = value.integerValue { return (actual == integer) != negate }
        guard let actual = value.numberValue else { return false }
        return (actual == number) != negate
    }
}

/// <, <=, >, >=: numbers compare as numbers when both sides are numbers, otherwise as strcmp.
final class OrderMatcher: ValueMatcher, @unchecked Sendable {
    let op: ComparisonOperator
    let constant: ByteConstant
    let number: Double?
    let integer: Int64?

    init(_ op: ComparisonOperator, _ text: String) {
        self.op = op
        constant = ByteConstant(text)
        number = constant.view.numberValue
        integer = constant.view.integerValue
    }

    override func matches(_ value: ByteView) -> Bool {
        let order: Int
        if let integer, let actual = value.integerValue {
            order = actual < integer ? -1 : (actual > integer ? 1 : 0)
        } else if let number, let actual = value.numberValue {
            order = actual < number ? -1 : (actual > number ? 1 : 0)
        } else {
            order = value.compare(constant.view)
        }
        switch op {
        case .less: return order < 0
        case .lessEqual: return order <= 0
        case .greater: return order > 0
        default: return order >= 0
        }
    }
}

final class ContainsMatcher: ValueMatcher, @unchecked Sendable {
    let needle: ByteConstant
    init(_ text: String) { needle = ByteConstant(text) }
    override func matches(_ value: ByteView) -> Bool { value.contains(needle.view) }
}

/// Case-insensitive (ASCII) substring search.
final class IContainsMatcher: ValueMatcher, @unchecked Sendable {
    let needle: [UInt8]
    init(_ text: String) { needle = Array(text.utf8).map(asciiLowercase) }
    override func matches(_ value: ByteView) -> Bool {
        if needle.isEmpty { return true }
        guard value.count >= needle.count else { return false }
        for start in 0...(value.count - needle.count) {
            var index = 0
            while index < needle.count, asciiLowercase(value[start + index]) == needle[index] { index += 1 }
            if index == needle.count { return true }
        }
        return false
    }
}

final class StartsWithMatcher: ValueMatcher, @unchecked Sendable {
    let prefix: ByteConstant
    init(_ text: String) { prefix = ByteConstant(text) }
    init(bytes: ByteConstant) { prefix = bytes }
    override func matches(_ value: ByteView) -> Bool { value.hasPrefix(prefix.view) }
}

final class EndsWithMatcher: ValueMatcher, @unchecked Sendable {
    let suffix: ByteConstant
    init(_ text: String) { suffix = ByteConstant(text) }
    override func matches(_ value: ByteView) -> Bool { value.hasSuffix(suffix.view) }
}

/// bcontains / bstartswith: the operand is hex ("2f6574"), compared with the value's raw bytes.
final class BytesContainsMatcher: ValueMatcher, @unchecked Sendable {
    let needle: ByteConstant
    init(bytes: ByteConstant) { needle = bytes }
    override func matches(_ value: ByteView) -> Bool { value.contains(needle.view) }
}

final class GlobMatcher: ValueMatcher, @unchecked Sendable {
    let pattern: GlobPattern
    init(_ text: String, caseInsensitive: Bool) { pattern = GlobPattern(text, caseInsensitive: caseInsensitive) }
    override func matches(_ value: ByteView) -> Bool { pattern.matches(value) }
}

final class SetMatcher: ValueMatcher, @unchecked Sendable {
    let set: ByteSet
    init(_ values: [String]) { set = ByteSet(values) }
    override func matches(_ value: ByteView) -> Bool { set.contains(value) }
}

/// pmatch: the value is one of the paths or lies under one of them, component-wise
/// (`/etc` covers `/etc` and `/etc/passwd`, not `/etcd`).
final class PathPrefixMatcher: ValueMatcher, @unchecked Sendable {
    let prefixes: [ByteConstant]

    init(_ paths: [String]) {
        prefixes = paths.map { path in
            var trimmed = Substring(path)
            while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            return ByteConstant(String(trimmed))
        }
    }

    override func matches(_ value: ByteView) -> Bool {
        for prefix in prefixes {
            let view = prefix.view
            guard value.hasPrefix(view) else { continue }
            if value.count == view.count { return true }
            if view.count > 0 && view[view.count - 1] == UInt8(ascii: "/") { return true }
            if value[view.count] == UInt8(ascii: "/") { return true }
        }
        return false
    }
}
