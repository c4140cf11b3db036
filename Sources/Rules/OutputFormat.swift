import AuditModel

public struct OutputFormatError: Error, Sendable {
    public let message: String
}

/// A field's value in an alert's output_fields: Falco prints a missing value as
/// null and a list field as an array of strings.
public enum OutputFieldValue: Sendable, Equatable {
    case null
    case string(String)
    case list([String])
    case integer(Int64)

    /// The value as text, as Falco renders it in an alert's output line: `<NA>` when missing,
    /// `(a,b)` for a list. For outputs whose fields are strings only (gRPC, labels).
    public var text: String {
        switch self {
        case .null: return "<NA>"
        case .string(let value): return value
        case .list(let values): return "(" + values.joined(separator: ",") + ")"
        case .integer(let value): return String(value)
        }
    }
}

/// A rule's `output`, compiled: literal text and `%field` / `%field[arg]`
/// tokens. Renders as Falco does: `<NA>` for a missing value, `(a,b)` for lists.
struct OutputFormat: Sendable {
    enum Segment: Sendable {
        case literal(String)
        case field(FieldExtractor, width: Int?)
    }

    let segments: [Segment]
    /// Each distinct field of the output once, in order of appearance.
    let fields: [FieldExtractor]

    init(_ text: String, catalog: FieldCatalog) throws {
        var segments: [Segment] = []
        var fields: [FieldExtractor] = []
        var literal = ""
        let characters = Array(text.unicodeScalars)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            guard character == "%" else {
                literal.unicodeScalars.append(character)
                index += 1
                continue
            }
            index += 1
            guard index < characters.count else {
                throw OutputFormatError(message: "output cannot end with '%'")
            }
            var width: Int?
            while index < characters.count, let digit = Int(String(characters[index])), characters[index].isASCII {
                width = (width ?? 0) * 10 + digit
                index += 1
            }
            var name = ""
            var end = index
            while end < characters.count, Self.isFieldCharacter(characters[end]) {
                name.unicodeScalars.append(characters[end])
                end += 1
            }
            // Falco takes the longest known field name that the text starts with.
            while !name.isEmpty, FieldCatalog.definitions[name] == nil { name.removeLast() }
            guard let definition = FieldCatalog.definitions[name] else {
                let rest = String(String.UnicodeScalarView(characters[index..<min(characters.count, index + 30)]))
                throw OutputFormatError(message: "invalid formatting token '%\(rest)': unknown field")
            }
            index += name.unicodeScalars.count
            var argument: String?
            if definition.argument != .none, index < characters.count, characters[index] == "[" {
                guard let close = characters[index...].firstIndex(of: "]") else {
                    throw OutputFormatError(message: "'%\(name)[' has no closing ']'")
                }
                argument = String(String.UnicodeScalarView(characters[(index + 1)..<close]))
                index = close + 1
            }
            let field: FieldExtractor
            do {
                field = try catalog.extractor(name: name, argument: argument)
            } catch let error as FieldError {
                throw OutputFormatError(message: error.message)
            }
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literal = ""
            }
            segments.append(.field(field, width: width))
            if !fields.contains(where: { $0 === field }) { fields.append(field) }
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
        self.fields = fields
    }

    private static func isFieldCharacter(_ character: Unicode.Scalar) -> Bool {
        character.isASCII && (character.properties.isAlphabetic || ("0"..."9").contains(character)
            || character == "_" || character == ".")
    }

    /// The output text for the context's current event.
    func render(_ context: EventContext) -> String {
        var result = ""
        for segment in segments {
            switch segment {
            case .literal(let text):
                result += text
            case .field(let field, let width):
                var text = Self.text(of: field, context)
                if let width {
                    text = text.count > width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
                }
                result += text
            }
        }
        return result
    }

    static func text(of field: FieldExtractor, _ context: EventContext) -> String {
        let values = context.values(of: field)
        if values.isEmpty { return "<NA>" }
        if !field.isList { return context.value(at: values.start).string }
        var text = "("
        for index in values.start..<(values.start + values.count) {
            if text.utf8.count > 1 { text += "," }
            text += context.value(at: index).string
        }
        return text + ")"
    }

    /// output_fields: every field of the output, keyed as written.
    func outputFields(_ context: EventContext) -> [(String, OutputFieldValue)] {
        fields.map { field in
            let values = context.values(of: field)
            if values.isEmpty { return (field.displayName, .null) }
            if field.isList {
                return (field.displayName, .list((values.start..<(values.start + values.count)).map { context.value(at: $0).string }))
            }
            return (field.displayName, .string(context.value(at: values.start).string))
        }
    }
}
