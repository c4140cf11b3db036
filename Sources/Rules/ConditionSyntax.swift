/// The syntax tree of a Falco condition, before macros, lists and fields are resolved.
public indirect enum ConditionNode: Sendable, Equatable {
    case and([ConditionNode])
    case or([ConditionNode])
    case not(ConditionNode)
    /// A bare identifier: a macro reference.
    case macro(name: String, position: Int)
    case compare(field: FieldReference, op: ComparisonOperator, operand: Operand)
    case exists(field: FieldReference)
}

/// `ka.uri.param[key]` as written: name, optional argument, and where it starts in the condition.
public struct FieldReference: Sendable, Hashable {
    public var name: String
    public var argument: String?
    public var position: Int

    public init(name: String, argument: String?, position: Int) {
        self.name = name
        self.argument = argument
        self.position = position
    }

    /// How Falco names the field in output_fields: `name` or `name[arg]`.
    public var displayName: String { argument.map { "\(name)[\($0)]" } ?? name }
}

/// The right-hand side of a comparison.
public enum Operand: Sendable, Equatable {
    case value(OperandValue)
    case list([OperandValue])
}

public struct OperandValue: Sendable, Hashable {
    public var text: String
    /// Bare words in a value list may name a list; quoted strings never do.
    public var quoted: Bool
    public var position: Int

    public init(text: String, quoted: Bool, position: Int) {
        self.text = text
        self.quoted = quoted
        self.position = position
    }
}

public enum ComparisonOperator: String, Sendable, CaseIterable {
    case equal = "="
    case equalEqual = "=="
    case notEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case contains
    case icontains
    case bcontains
    case startswith
    case bstartswith
    case endswith
    case glob
    case iglob
    case pmatch
    case `in`
    case intersects

    /// Operators whose operand is a parenthesised list of values.
    public var takesList: Bool {
        switch self {
        case .in, .intersects, .pmatch: return true
        default: return false
        }
    }

    static let words: [String: ComparisonOperator] = [
        "contains": .contains, "icontains": .icontains, "bcontains": .bcontains,
        "startswith": .startswith, "bstartswith": .bstartswith, "endswith": .endswith,
        "glob": .glob, "iglob": .iglob, "pmatch": .pmatch, "in": .in, "intersects": .intersects,
    ]
}
