/// A field that a condition or output names but that cannot be used as written.
public struct FieldError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// How a field takes an argument: `ka.uri.param[key]` (key, required),
/// `ka.req.pod.containers.image[0]` (index, optional), or not at all.
public enum FieldArgumentKind: Sendable {
    case none
    case index
    case requiredKey
}

/// The static description of a field: what the k8saudit/json plugins export.
public struct FieldDefinition: Sendable {
    public let name: String
    public let type: FieldType
    public let isList: Bool
    public let argument: FieldArgumentKind
    public let description: String
    /// Builds the extractor for one use of the field (with its parsed argument).
    let make: @Sendable (FieldArgumentValue) throws -> FieldBody
}

/// A field's argument once validated.
public enum FieldArgumentValue: Sendable {
    case none
    case index(Int)
    case key(String)
}

/// The work an extractor does for one event.
typealias FieldBody = @Sendable (EventContext) -> Void

/// The fields one rule set uses, each bound once to a slot of the per-event
/// cache. Every rule naming `ka.verb` shares one extractor, so it is computed
/// once per event however many rules read it.
public final class FieldCatalog: @unchecked Sendable {
    public static let definitions: [String: FieldDefinition] = {
        var table: [String: FieldDefinition] = [:]
        for definition in K8sAuditFields.all + JSONFields.all + EventFields.all { table[definition.name] = definition }
        return table
    }()

    private var extractors: [String: FieldExtractor] = [:]
    public private(set) var slotCount = 0

    public init() {}

    /// The extractor for `name[argument]`, validated against the field's definition.
    public func extractor(name: String, argument: String?) throws -> FieldExtractor {
        let key = argument.map { "\(name)[\($0)]" } ?? name
        if let existing = extractors[key] { return existing }
        guard let definition = Self.definitions[name] else {
            throw FieldError(message: "unknown field '\(name)'")
        }
        let value: FieldArgumentValue
        switch (definition.argument, argument) {
        case (.none, nil), (.index, nil):
            value = .none
        case (.none, let argument?):
            throw FieldError(message: "field '\(name)' takes no argument, but '[\(argument)]' is given")
        case (.requiredKey, nil):
            throw FieldError(message: "field '\(name)' needs an argument, as in \(name)[...]")
        case (.requiredKey, let argument?):
            guard !argument.isEmpty else { throw FieldError(message: "field '\(name)' needs a non-empty argument") }
            value = .key(argument)
        case (.index, let argument?):
            guard let index = Int(argument), index >= 0, argument.allSatisfy(\.isASCII),
                  argument == "0" || !argument.hasPrefix("0") else {
                throw FieldError(message: "field '\(name)' takes an index (0, 1, ...), not '[\(argument)]'")
            }
            value = .index(index)
        }
        let body = try definition.make(value)
        let extractor = ClosureFieldExtractor(name: name, argument: argument, type: definition.type,
                                              isList: definition.isList, body: body)
        extractor.slot = slotCount
        slotCount += 1
        extractors[key] = extractor
        return extractor
    }

    /// A context with a cache slot for every field bound so far.
    public func makeContext() -> EventContext { EventContext(slots: max(slotCount, 1)) }
}

final class ClosureFieldExtractor: FieldExtractor, @unchecked Sendable {
    private let body: FieldBody

    init(name: String, argument: String?, type: FieldType, isList: Bool, body: @escaping FieldBody) {
        self.body = body
        super.init(name: name, argument: argument, type: type, isList: isList)
    }

    override func extract(_ context: EventContext) { body(context) }
}
