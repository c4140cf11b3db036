import Rules

/// A text with placeholders filled from each alert, for values an output builds per alert (a
/// NATS subject, a mail subject): `<priority>`, `<rule>`, `<cluster>`, `<source>`,
/// `<hostname>`, `<id>`, `<output>`. Placeholders are checked when the configuration loads.
struct AlertTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Placeholder: String, CaseIterable, Sendable {
        case priority, rule, cluster, source, hostname, id, output

        func value(of alert: Alert) -> String {
            switch self {
            case .priority: return alert.priority.name
            case .rule: return alert.rule
            case .cluster: return alert.cluster
            case .source: return alert.source
            case .hostname: return alert.hostname
            case .id: return alert.id
            case .output: return alert.output
            }
        }
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case placeholder(Placeholder)
    }

    let segments: [Segment]
    let description: String

    /// Parses `text`; a `<word>` that is no placeholder is an error that lists the known ones
    /// (a `<` that does not start one, as in `a < b`, is plain text).
    init(parsing text: String) throws(AlertTemplateError) {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            literal += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: ">"),
                  !rest[afterOpen..<close].isEmpty,
                  rest[afterOpen..<close].allSatisfy({ $0.isLetter || $0 == "_" }) else {
                literal += "<"
                rest = rest[afterOpen...]
                continue
            }
            let name = String(rest[afterOpen..<close])
            guard let placeholder = Placeholder(rawValue: name) else {
                throw AlertTemplateError(message: "unknown placeholder <\(name)> (known: \(Placeholder.allCases.map { "<\($0.rawValue)>" }.joined(separator: ", ")))")
            }
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = ""
            segments.append(.placeholder(placeholder))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
        description = text
    }

    /// The text for `alert`, each placeholder's value passed through `transform` (a NATS output
    /// makes subject tokens of them, a mail output keeps them as they are).
    func render(_ alert: Alert, transform: (String) -> String = { $0 }) -> String {
        render { transform($0.value(of: alert)) }
    }

    func render(_ value: (Placeholder) -> String) -> String {
        var text = ""
        for segment in segments {
            switch segment {
            case .literal(let literal): text += literal
            case .placeholder(let placeholder): text += value(placeholder)
            }
        }
        return text
    }
}

struct AlertTemplateError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
