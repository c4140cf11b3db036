import Foundation
import Yams

/// A problem in a configuration file, with where it is.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found in one configuration file (all are reported, not only the first).
public struct ConfigErrors: Error, CustomStringConvertible, Sendable {
    public let errors: [ConfigError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Decodes YAML into `Decodable` settings strictly: a key that no setting reads is an
/// error naming the key and its line (a misspelt `linsten:` must not silently fall back
/// to a default), and a wrong type says what was expected where. YAML keys are
/// snake_case (`max_body_bytes`) for Swift's camelCase properties; dictionary keys
/// (librdkafka settings, custom fields) are kept as written.
public enum ConfigDecoder {
    public static func decode<Value: Decodable>(_ type: Value.Type, yaml: String, file: String) throws -> Value {
        let root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? Node.mapping(Node.Mapping([]))
        } catch let error as YamlError {
            throw ConfigErrors(errors: [Self.syntaxError(error, file: file)])
        }
        let state = DecodingState(file: file)
        let value: Value
        do {
            // Through NodeDecoder.decode, so that errors of the root's own `init(from:)` get a position too.
            value = try NodeDecoder.decode(Value.self, from: root, path: [], state: state)
        } catch let error as ConfigError {
            throw ConfigErrors(errors: [error])
        }
        let unknown = state.unknownKeys()
        if !unknown.isEmpty { throw ConfigErrors(errors: unknown) }
        return value
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, path: String) throws -> Value {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, line: 0, column: 0,
                                                    message: "cannot read the configuration file: \(error.localizedDescription)")])
        }
        return try decode(type, yaml: text, file: path)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)")
        default:
            return ConfigError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
    }
}

/// Shared by all containers of one decode: which keys of which mappings were read.
final class DecodingState {
    let file: String
    /// Mappings that a keyed container looked at, by their position, with the keys it read.
    private var mappings: [String: (node: Node.Mapping, path: [any CodingKey], read: Set<String>)] = [:]

    init(file: String) {
        self.file = file
    }

    func error(_ node: Node?, _ path: [any CodingKey], _ message: String) -> ConfigError {
        let mark = node?.mark
        let location = path.isEmpty ? "" : "\(Self.describe(path)): "
        return ConfigError(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: location + message)
    }

    func register(_ mapping: Node.Mapping, at node: Node, path: [any CodingKey]) {
        let id = Self.identity(node)
        if mappings[id] == nil { mappings[id] = (mapping, path, []) }
    }

    func markRead(_ key: String, in node: Node) {
        mappings[Self.identity(node)]?.read.insert(key)
    }

    func unknownKeys() -> [ConfigError] {
        var errors: [ConfigError] = []
        for (_, entry) in mappings {
            let known = entry.read
            for (keyNode, _) in entry.node where !known.contains(keyNode.string ?? "") {
                let name = keyNode.string ?? "?"
                let scope = entry.path.isEmpty ? "at the top level" : "in \(Self.describe(entry.path))"
                errors.append(error(keyNode, [], "unknown key '\(name)' \(scope)"))
            }
        }
        return errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    static func describe(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue)
            }
        }
        return text
    }

    private static func identity(_ node: Node) -> String {
        guard let mark = node.mark else { return "?" }
        return "\(mark.line):\(mark.column)"
    }

    /// `maxBodyBytes` → `max_body_bytes`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                if !result.isEmpty { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [any CodingKey]
    let state: DecodingState
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else {
            throw state.error(node, codingPath, "expected a mapping (key: value), found \(node.kindName)")
        }
        state.register(mapping, at: node, path: codingPath)
        return KeyedDecodingContainer(MappingContainer<Key>(node: node, mapping: mapping, codingPath: codingPath, state: state))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = node else {
            throw state.error(node, codingPath, "expected a list, found \(node.kindName)")
        }
        return SequenceContainer(nodes: Array(sequence), codingPath: codingPath, state: state)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        ScalarContainer(node: node, codingPath: codingPath, state: state)
    }

    /// Decodes a value, turning errors without a position (from custom `init(from:)`) into positioned ones.
    static func decode<Value: Decodable>(_ type: Value.Type, from node: Node, path: [any CodingKey],
                                         state: DecodingState) throws -> Value {
        do {
            return try Value(from: NodeDecoder(node: node, codingPath: path, state: state))
        } catch let error as ConfigError {
            throw error
        } catch let DecodingError.dataCorrupted(context) {
            throw positioned(context, in: node, path: path, state: state)
        } catch let DecodingError.typeMismatch(_, context) {
            throw positioned(context, in: node, path: path, state: state)
        } catch let DecodingError.valueNotFound(_, context) {
            throw positioned(context, in: node, path: path, state: state)
        } catch let DecodingError.keyNotFound(key, _) {
            throw state.error(node, path, "missing required key '\(DecodingState.snakeCase(key.stringValue))'")
        }
    }
}

/// An error thrown by a custom `init(from:)` (`dataCorruptedError(forKey:in:)`), placed at the
/// node its coding path names, below the node being decoded.
private func positioned(_ context: DecodingError.Context, in node: Node, path: [any CodingKey],
                        state: DecodingState) -> ConfigError {
    var target = node
    for key in context.codingPath.dropFirst(path.count) {
        switch target {
        case .mapping(let mapping):
            let names = [key.stringValue, DecodingState.snakeCase(key.stringValue)]
            guard let value = mapping.first(where: { names.contains($0.key.string ?? "") })?.value else { break }
            target = value
        case .sequence(let sequence):
            guard let index = key.intValue, index < sequence.count else { break }
            target = sequence[index]
        default:
            break
        }
    }
    let fullPath = context.codingPath.count > path.count ? context.codingPath : path
    return state.error(target, fullPath, context.debugDescription)
}

struct MappingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: Node
    let mapping: Node.Mapping
    let codingPath: [any CodingKey]
    let state: DecodingState

    var allKeys: [Key] { mapping.keys.compactMap { $0.string }.compactMap { Key(stringValue: $0) } }

    /// The YAML key for a setting: as written, or its snake_case form.
    private func entry(_ key: Key) -> (name: String, value: Node)? {
        for name in [key.stringValue, DecodingState.snakeCase(key.stringValue)] {
            if let value = mapping.first(where: { $0.key.string == name })?.value {
                state.markRead(name, in: node)
                return (name, value)
            }
        }
        return nil
    }

    func contains(_ key: Key) -> Bool { entry(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let (_, value) = entry(key) else { return true }
        return value.isNull
    }

    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        guard let (_, value) = entry(key) else {
            throw state.error(node, codingPath, "missing required key '\(DecodingState.snakeCase(key.stringValue))'")
        }
        return try NodeDecoder.decode(type, from: value, path: codingPath + [key], state: state)
    }

    func decodeIfPresent<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value? {
        guard let (_, value) = entry(key), !value.isNull else { return nil }
        return try NodeDecoder.decode(type, from: value, path: codingPath + [key], state: state)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                                forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        guard let (_, value) = entry(key) else {
            throw state.error(node, codingPath, "missing required key '\(DecodingState.snakeCase(key.stringValue))'")
        }
        return try NodeDecoder(node: value, codingPath: codingPath + [key], state: state).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        guard let (_, value) = entry(key) else {
            throw state.error(node, codingPath, "missing required key '\(DecodingState.snakeCase(key.stringValue))'")
        }
        return try NodeDecoder(node: value, codingPath: codingPath + [key], state: state).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { NodeDecoder(node: node, codingPath: codingPath, state: state) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(node: entry(key)?.value ?? Node("~"), codingPath: codingPath + [key], state: state)
    }
}

struct SequenceContainer: UnkeyedDecodingContainer {
    let nodes: [Node]
    let codingPath: [any CodingKey]
    let state: DecodingState
    var currentIndex = 0

    init(nodes: [Node], codingPath: [any CodingKey], state: DecodingState) {
        self.nodes = nodes
        self.codingPath = codingPath
        self.state = state
    }

    var count: Int? { nodes.count }
    var isAtEnd: Bool { currentIndex >= nodes.count }

    private struct Index: CodingKey {
        let intValue: Int?
        var stringValue: String { "\(intValue ?? 0)" }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    private mutating func next() throws -> (Node, [any CodingKey]) {
        guard !isAtEnd else { throw state.error(nodes.last, codingPath, "the list has too few items") }
        defer { currentIndex += 1 }
        return (nodes[currentIndex], codingPath + [Index(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, nodes[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let (node, path) = try next()
        return try NodeDecoder.decode(type, from: node, path: path, state: state)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (node, path) = try next()
        return try NodeDecoder(node: node, codingPath: path, state: state).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (node, path) = try next()
        return try NodeDecoder(node: node, codingPath: path, state: state).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (node, path) = try next()
        return NodeDecoder(node: node, codingPath: path, state: state)
    }
}

struct ScalarContainer: SingleValueDecodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    let state: DecodingState

    func decodeNil() -> Bool { node.isNull }

    private func scalar(_ expected: String) throws -> Node.Scalar {
        guard case .scalar(let scalar) = node else {
            throw state.error(node, codingPath, "expected \(expected), found \(node.kindName)")
        }
        return scalar
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        _ = try scalar("true or false")
        guard let value = node.bool else { throw state.error(node, codingPath, "expected true or false, found '\(node.string ?? "")'") }
        return value
    }

    func decode(_ type: String.Type) throws -> String { try scalar("a string").string }

    func decode(_ type: Double.Type) throws -> Double {
        _ = try scalar("a number")
        guard let value = node.float ?? node.int.map(Double.init) else {
            throw state.error(node, codingPath, "expected a number, found '\(node.string ?? "")'")
        }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<Value: FixedWidthInteger>(_ type: Value.Type) throws -> Value {
        let text = try scalar("an integer").string
        guard let value = node.int.flatMap({ Value(exactly: $0) }) ?? Value(text.replacingOccurrences(of: "_", with: "")) else {
            throw state.error(node, codingPath, "expected an integer, found '\(text)'")
        }
        return value
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try NodeDecoder.decode(type, from: node, path: codingPath, state: state)
    }
}

extension Node {
    var isNull: Bool {
        guard case .scalar = self else { return false }
        return self.null != nil
    }

    var kindName: String {
        switch self {
        case .scalar: return isNull ? "nothing (null)" : "'\(string ?? "")'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
