import Rules

/// A templated field's text with `%field` placeholders in Falco's output syntax
/// (`%ka.target.namespace/%ka.target.name`, `%ka.req.pod.containers.image[0]`), filled from
/// an alert's output_fields: `<NA>` for a field that is missing or null, `(a,b)` for a list,
/// as Falco prints them in `output`.
public struct FieldTemplate: Sendable, Equatable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case field(String)
    }

    let segments: [Segment]

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(SyntaxError) {
        var segments: [Segment] = []
        var literal = ""
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            guard scalars[index] == "%" else {
                literal.unicodeScalars.append(scalars[index])
                index += 1
                continue
            }
            var end = index + 1
            while end < scalars.count, Self.isFieldCharacter(scalars[end]) { end += 1 }
            // A sentence may end right after a field: "%ka.user.name." names ka.user.name.
            while end > index + 1, scalars[end - 1] == "." { end -= 1 }
            guard end > index + 1 else {
                throw SyntaxError(description: "'%' at character \(index + 1) of '\(text)' is not followed by a field name")
            }
            if end < scalars.count, scalars[end] == "[" {
                guard let close = scalars[end...].firstIndex(of: "]") else {
                    throw SyntaxError(description: "'[' at character \(end + 1) of '\(text)' has no closing ']'")
                }
                end = close + 1
            }
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literal = ""
            }
            segments.append(.field(String(String.UnicodeScalarView(scalars[(index + 1)..<end]))))
            index = end
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
    }

    public func render(_ alert: Alert) -> String {
        var text = ""
        for segment in segments {
            switch segment {
            case .literal(let literal):
                text += literal
            case .field(let name):
                text += (alert.outputField(name) ?? .null).text
            }
        }
        return text
    }

    private static func isFieldCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == ".")
    }
}
