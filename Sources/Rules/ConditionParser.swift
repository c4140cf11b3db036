/// A condition that does not parse, and the byte offset in it where that was noticed.
public struct ConditionSyntaxError: Error, Sendable, Equatable {
    public var message: String
    public var position: Int
}

/// Falco's condition grammar, as libsinsp parses it:
///
///     expr    := or
///     or      := and ("or" and)*
///     and     := not ("and" not)*
///     not     := "not" not | primary
///     primary := "(" expr ")" | field unaryop | field binop value | field listop list | macro
///
/// `not` binds tighter than `and`, which binds tighter than `or`.
public struct ConditionParser {
    private let text: [UInt8]
    private var position = 0

    public static func parse(_ condition: String) throws -> ConditionNode {
        var parser = ConditionParser(text: Array(condition.utf8))
        return try parser.parseCondition()
    }

    private init(text: [UInt8]) {
        self.text = text
    }

    private mutating func parseCondition() throws -> ConditionNode {
        skipSpace()
        if position == text.count { throw ConditionSyntaxError(message: "empty condition", position: 0) }
        let node = try parseOr()
        skipSpace()
        if position < text.count {
            throw ConditionSyntaxError(
                message: "unexpected '\(preview())', expected 'and', 'or' or the end of the condition",
                position: position)
        }
        return node
    }

    private mutating func parseOr() throws -> ConditionNode {
        var children = [try parseAnd()]
        while keyword("or") { children.append(try parseAnd()) }
        return children.count == 1 ? children[0] : .or(children)
    }

    private mutating func parseAnd() throws -> ConditionNode {
        var children = [try parseNot()]
        while keyword("and") { children.append(try parseNot()) }
        return children.count == 1 ? children[0] : .and(children)
    }

    private mutating func parseNot() throws -> ConditionNode {
        if keyword("not") { return .not(try parseNot()) }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws -> ConditionNode {
        skipSpace()
        guard position < text.count else {
            throw ConditionSyntaxError(message: "unexpected end of condition, expected a field, a macro or '('",
                                       position: position)
        }
        if text[position] == UInt8(ascii: "(") {
            let open = position
            position += 1
            let inner = try parseOr()
            skipSpace()
            guard position < text.count, text[position] == UInt8(ascii: ")") else {
                throw ConditionSyntaxError(message: "missing ')' to close the '(' at offset \(open)",
                                           position: position)
            }
            position += 1
            return inner
        }
        let start = position
        guard let name = identifier() else {
            throw ConditionSyntaxError(message: "unexpected '\(preview())', expected a field, a macro or '('",
                                       position: position)
        }
        if ["and", "or", "not"].contains(name) {
            throw ConditionSyntaxError(message: "unexpected '\(name)', expected a field, a macro or '('",
                                       position: start)
        }
        var argument: String?
        if position < text.count, text[position] == UInt8(ascii: "[") {
            argument = try fieldArgument()
        }
        let afterName = position
        skipSpace()
        if keyword("exists") {
            return .exists(field: FieldReference(name: name, argument: argument, position: start))
        }
        if let op = comparisonOperator() {
            let field = FieldReference(name: name, argument: argument, position: start)
            skipSpace()
            if op.takesList {
                return .compare(field: field, op: op, operand: try listOrValue())
            }
            return .compare(field: field, op: op, operand: .value(try value()))
        }
        if argument != nil {
            throw ConditionSyntaxError(message: "'\(name)[\(argument!)]' must be followed by an operator",
                                       position: afterName)
        }
        // A lone identifier is a macro; a name with dots is a field missing its operator.
        if name.contains(".") {
            if position < text.count, !isBoundary(text[position]) || text[position] == UInt8(ascii: "(") {
                throw ConditionSyntaxError(message: "unknown operator '\(preview())' after '\(name)'",
                                           position: position)
            }
            throw ConditionSyntaxError(message: "'\(name)' must be followed by an operator", position: afterName)
        }
        position = afterName
        return .macro(name: name, position: start)
    }

    // MARK: - Tokens

    private mutating func skipSpace() {
        while position < text.count, isSpace(text[position]) { position += 1 }
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    private func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".")
    }

    private func isBoundary(_ byte: UInt8) -> Bool { !isIdentifierByte(byte) }

    /// Matches a word (and, or, not, exists, operators) followed by a non-identifier byte.
    private mutating func keyword(_ word: String) -> Bool {
        skipSpace()
        let bytes = Array(word.utf8)
        guard position + bytes.count <= text.count, Array(text[position..<(position + bytes.count)]) == bytes else {
            return false
        }
        let end = position + bytes.count
        if end < text.count, isIdentifierByte(text[end]) { return false }
        position = end
        return true
    }

    /// Field or macro names: a letter or underscore, then letters, digits, `_`, `.` and `-`.
    private mutating func identifier() -> String? {
        guard position < text.count else { return nil }
        let first = text[position]
        let isLetter = (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z"))
            || (first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z")) || first == UInt8(ascii: "_")
        guard isLetter else { return nil }
        let start = position
        while position < text.count, isIdentifierByte(text[position]) { position += 1 }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    private mutating func fieldArgument() throws -> String {
        let open = position
        position += 1
        if position < text.count, text[position] == UInt8(ascii: "\"") || text[position] == UInt8(ascii: "'") {
            let quoted = try quotedString()
            guard position < text.count, text[position] == UInt8(ascii: "]") else {
                throw ConditionSyntaxError(message: "missing ']' after field argument", position: position)
            }
            position += 1
            return quoted
        }
        let start = position
        while position < text.count, text[position] != UInt8(ascii: "]") { position += 1 }
        guard position < text.count else {
            throw ConditionSyntaxError(message: "missing ']' to close the field argument", position: open)
        }
        let argument = String(decoding: text[start..<position], as: UTF8.self)
        position += 1
        return argument
    }

    private mutating func comparisonOperator() -> ComparisonOperator? {
        guard position < text.count else { return nil }
        for symbol in ["==", "!=", "<=", ">=", "=", "<", ">"] {
            let bytes = Array(symbol.utf8)
            if position + bytes.count <= text.count, Array(text[position..<(position + bytes.count)]) == bytes {
                position += bytes.count
                return ComparisonOperator(rawValue: symbol)
            }
        }
        let save = position
        if let word = identifier(), let op = ComparisonOperator.words[word] { return op }
        position = save
        return nil
    }

    private mutating func listOrValue() throws -> Operand {
        guard position < text.count, text[position] == UInt8(ascii: "(") else {
            // libsinsp also accepts a single value after a list operator.
            return .list([try value()])
        }
        let open = position
        position += 1
        var items: [OperandValue] = []
        skipSpace()
        if position < text.count, text[position] == UInt8(ascii: ")") {
            position += 1
            return .list(items)
        }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard position < text.count else {
                throw ConditionSyntaxError(message: "missing ')' to close the value list", position: open)
            }
            if text[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if text[position] == UInt8(ascii: ")") {
                position += 1
                return .list(items)
            }
            throw ConditionSyntaxError(message: "unexpected '\(preview())' in value list, expected ',' or ')'",
                                       position: position)
        }
    }

    private mutating func value() throws -> OperandValue {
        guard position < text.count else {
            throw ConditionSyntaxError(message: "unexpected end of condition, expected a value", position: position)
        }
        let start = position
        if text[position] == UInt8(ascii: "\"") || text[position] == UInt8(ascii: "'") {
            return OperandValue(text: try quotedString(), quoted: true, position: start)
        }
        while position < text.count {
            let byte = text[position]
            if isSpace(byte) || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: ",")
                || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { break }
            position += 1
        }
        guard position > start else {
            throw ConditionSyntaxError(message: "unexpected '\(preview())', expected a value", position: position)
        }
        return OperandValue(text: String(decoding: text[start..<position], as: UTF8.self), quoted: false,
                            position: start)
    }

    private mutating func quotedString() throws -> String {
        let quote = text[position]
        let open = position
        position += 1
        var bytes: [UInt8] = []
        while position < text.count {
            let byte = text[position]
            if byte == quote {
                position += 1
                return String(decoding: bytes, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\"), position + 1 < text.count {
                let next = text[position + 1]
                switch next {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): bytes.append(next)
                default:
                    bytes.append(byte)
                    bytes.append(next)
                }
                position += 2
                continue
            }
            bytes.append(byte)
            position += 1
        }
        throw ConditionSyntaxError(message: "unterminated string", position: open)
    }

    private func preview() -> String {
        guard position < text.count else { return "end of condition" }
        var end = position
        while end < text.count, end - position < 20, !isSpace(text[end]) { end += 1 }
        if end == position { end = position + 1 }
        return String(decoding: text[position..<end], as: UTF8.self)
    }
}
