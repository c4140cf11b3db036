/// Condition text as loaded, possibly grown by `append`: the pieces keep
/// their own file positions so an error anywhere maps back to FILE:LINE:COL.
public struct ConditionText: Sendable {
    struct Piece: Sendable {
        var text: String
        var locator: TextLocator
    }

    private(set) var pieces: [Piece]

    init(_ text: String, locator: TextLocator) {
        pieces = [Piece(text: text, locator: locator)]
    }

    /// Falco appends conditions, outputs and descriptions with a single space.
    mutating func append(_ other: ConditionText) { pieces += other.pieces }

    public var text: String { pieces.map(\.text).joined(separator: " ") }

    public var location: SourceLocation { pieces[0].locator.start }

    /// The file position of a byte offset in `text`.
    func locate(_ offset: Int) -> SourceLocation {
        var remaining = offset
        for piece in pieces {
            let length = piece.text.utf8.count
            if remaining <= length { return piece.locator.locate(remaining) }
            remaining -= length + 1
        }
        return pieces.last!.locator.locate(pieces.last!.text.utf8.count)
    }
}

/// A `list:` item after every redefinition and append.
public struct ListDefinition: Sendable {
    public var name: String
    public var items: [ListItem]
    public var location: SourceLocation
}

public struct ListItem: Sendable, Hashable {
    public var text: String
    public var location: SourceLocation
}

/// A `macro:` item after every redefinition and append.
public struct MacroDefinition: Sendable {
    public var name: String
    public var condition: ConditionText
    public var location: SourceLocation
}

/// One exception of a rule: fields, comparison operators and value tuples.
public struct ExceptionDefinition: Sendable {
    public enum Fields: Sendable, Equatable {
        /// `fields: ka.user.name`: values are a flat list, compared with one operator.
        case single(String)
        /// `fields: [a, b]`: values are tuples, one entry per field.
        case tuple([String])
    }

    /// An exception value: a scalar, or a list of scalars (for in/pmatch/intersects).
    public enum Value: Sendable, Equatable {
        case scalar(String)
        case list([String])
    }

    public var name: String
    public var fields: Fields?
    public var comps: [String]?
    public var values: [[Value]]
    public var location: SourceLocation
}

/// A `rule:` item after every redefinition, append and override.
public struct RuleDefinition: Sendable {
    public var name: String
    public var description: String
    public var condition: ConditionText
    public var output: String
    public var outputLocation: SourceLocation
    public var priority: Priority
    public var source: String
    public var tags: [String]
    public var enabled: Bool
    public var exceptions: [ExceptionDefinition]
    public var location: SourceLocation
    /// Falco's `skip-if-unknown-filter`: a rule naming an unknown field is skipped with a warning.
    public var skipIfUnknownFilter = false
}

/// Everything the rules files defined, resolved as Falco resolves them, in load order.
public struct RuleSetDefinition: Sendable {
    public var lists: [String: ListDefinition] = [:]
    public var macros: [String: MacroDefinition] = [:]
    /// Rules in Falco's order: a redefinition keeps the place of the first definition.
    public var rules: [RuleDefinition] = []
    /// Rules of other sources (syscall, plugins we do not implement), skipped and counted.
    public var skippedRules: [String: Int] = [:]
    public var warnings: [RuleDiagnostic] = []

    public init() {}
}
