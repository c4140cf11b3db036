/// Turning JSON nodes into field values the way the k8saudit and json plugins
/// do: strings unquoted, numbers and booleans as text, null as "null",
/// objects and arrays as compact JSON.
extension EventContext {
    static let trueText = ByteConstant("true")
    static let falseText = ByteConstant("false")
    static let nullText = ByteConstant("null")

    /// The value of `node` as text, or nil when the node is missing.
    public func text(of node: JSONDocument.Node) -> ByteView? {
        guard node >= 0 else { return nil }
        switch document.kind(node) {
        case .missing: return nil
        case .string: return document.string(node)
        case .int64: return arena.decimal(document.int64(node) ?? 0)
        case .uint64: return arena.decimal(document.uint64(node) ?? 0)
        case .double: return arena.copy(Self.format(document.double(node) ?? 0))
        case .bool: return (document.bool(node) ?? false) ? Self.trueText.view : Self.falseText.view
        case .null: return Self.nullText.view
        case .array, .object: return arena.copy(document.json(node))
        }
    }

    /// Emits the node's text, if it has one.
    @inline(__always)
    func emitText(of node: JSONDocument.Node) {
        if let value = text(of: node) { emit(value) }
    }

    /// Emits each element of an array (nothing for anything else).
    func emitElements(of node: JSONDocument.Node) {
        guard document.kind(node) == .array else { return }
        for element in document.elements(node) { emitText(of: element) }
    }

    func resolve(_ path: JSONPath, from node: JSONDocument.Node = JSONDocument.root) -> JSONDocument.Node {
        path.resolve(document, from: node)
    }

    private static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
