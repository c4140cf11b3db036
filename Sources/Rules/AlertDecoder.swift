import AuditModel

/// Why bytes read from the alerts topic are not an alert; the sink dead-letters them with this reason.
public struct AlertDecodingError: Error, Sendable, CustomStringConvertible, Equatable {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// Alerts back from the JSON that `AlertEncoder` writes (Falco's JSON output plus cluster,
/// auditID, id and origin), with simdjson: the sink decodes every alert it reads once per
/// output, so Foundation's decoder would be its bottleneck.
///
/// Required: `time`, `rule`, `priority`, `output`, `id`; the rest of Falco's keys default to
/// empty when absent, so alerts from other Falco-compatible producers decode too. Not
/// thread-safe (it reuses one parser): one decoder per thread or task.
public final class AlertDecoder {
    private let document = JSONDocument()

    public init() {}

    public func decode(_ bytes: [UInt8]) throws(AlertDecodingError) -> Alert {
        do {
            try document.parse(bytes)
        } catch {
            throw AlertDecodingError("not JSON: \(error)")
        }
        let root = JSONDocument.root
        guard document.kind(root) == .object else {
            throw AlertDecodingError("not an alert: the JSON is \(Self.describe(document.kind(root))), not an object")
        }
        let timeText = try requiredString(Keys.time, "time")
        guard let time = Timestamp.parse(timeText) else {
            throw AlertDecodingError("not an alert: 'time' is '\(timeText)', not an RFC 3339 timestamp")
        }
        let priorityText = try requiredString(Keys.priority, "priority")
        guard let priority = Priority(parsing: priorityText) else {
            throw AlertDecodingError("not an alert: unknown priority '\(priorityText)'")
        }
        return Alert(
            time: time,
            rule: try requiredString(Keys.rule, "rule"),
            priority: priority,
            output: try requiredString(Keys.output, "output"),
            outputFields: try outputFields(),
            source: try optionalString(Keys.source, "source") ?? "",
            tags: try tags(),
            hostname: try optionalString(Keys.hostname, "hostname") ?? "",
            cluster: try optionalString(Keys.cluster, "cluster") ?? "",
            auditID: try optionalString(Keys.auditID, "auditID") ?? "",
            id: try requiredString(Keys.id, "id"),
            origin: try origin())
    }

    // MARK: - Keys

    private enum Keys {
        static let time = ByteConstant("time")
        static let rule = ByteConstant("rule")
        static let priority = ByteConstant("priority")
        static let output = ByteConstant("output")
        static let outputFields = ByteConstant("output_fields")
        static let source = ByteConstant("source")
        static let tags = ByteConstant("tags")
        static let hostname = ByteConstant("hostname")
        static let cluster = ByteConstant("cluster")
        static let auditID = ByteConstant("auditID")
        static let id = ByteConstant("id")
        static let origin = ByteConstant("origin")
        static let topic = ByteConstant("topic")
        static let partition = ByteConstant("partition")
        static let offset = ByteConstant("offset")
    }

    // MARK: - Values

    private func requiredString(_ key: ByteConstant, _ name: String) throws(AlertDecodingError) -> String {
        guard let text = try optionalString(key, name) else {
            throw AlertDecodingError("not an alert: '\(name)' is missing")
        }
        return text
    }

    private func optionalString(_ key: ByteConstant, _ name: String) throws(AlertDecodingError) -> String? {
        let node = document.child(JSONDocument.root, key.view)
        switch document.kind(node) {
        case .missing, .null:
            return nil
        case .string:
            return document.string(node)?.string
        case let kind:
            throw AlertDecodingError("not an alert: '\(name)' is \(Self.describe(kind)), not a string")
        }
    }

    private func tags() throws(AlertDecodingError) -> [String] {
        let node = document.child(JSONDocument.root, Keys.tags.view)
        switch document.kind(node) {
        case .missing, .null:
            return []
        case .array:
            var tags: [String] = []
            for element in document.elements(node) {
                guard let text = document.string(element) else {
                    throw AlertDecodingError("not an alert: 'tags' holds \(Self.describe(document.kind(element))), not only strings")
                }
                tags.append(text.string)
            }
            return tags
        case let kind:
            throw AlertDecodingError("not an alert: 'tags' is \(Self.describe(kind)), not a list")
        }
    }

    /// Falco's output_fields: strings, integers (evt.time), null for a missing value, arrays of
    /// strings for list fields. Booleans and decimals (from other producers) keep their JSON text.
    private func outputFields() throws(AlertDecodingError) -> [(String, OutputFieldValue)] {
        let node = document.child(JSONDocument.root, Keys.outputFields.view)
        switch document.kind(node) {
        case .missing, .null:
            return []
        case .object:
            break
        case let kind:
            throw AlertDecodingError("not an alert: 'output_fields' is \(Self.describe(kind)), not an object")
        }
        let entries = document.entries(node)
        var fields: [(String, OutputFieldValue)] = []
        fields.reserveCapacity(entries.count)
        for (key, value) in entries {
            fields.append((key.string, try fieldValue(value, name: key.string)))
        }
        return fields
    }

    private func fieldValue(_ node: JSONDocument.Node, name: String) throws(AlertDecodingError) -> OutputFieldValue {
        switch document.kind(node) {
        case .null, .missing:
            return .null
        case .string:
            return .string(document.string(node)?.string ?? "")
        case .int64:
            return .integer(document.int64(node) ?? 0)
        case .uint64, .double, .bool:
            return .string(document.json(node).string)
        case .array:
            var items: [String] = []
            for element in document.elements(node) {
                switch document.kind(element) {
                case .string: items.append(document.string(element)?.string ?? "")
                case .object, .array:
                    throw AlertDecodingError("not an alert: output field '\(name)' nests \(Self.describe(document.kind(element)))")
                default: items.append(document.json(element).string)
                }
            }
            return .list(items)
        case .object:
            throw AlertDecodingError("not an alert: output field '\(name)' is an object")
        }
    }

    private func origin() throws(AlertDecodingError) -> Alert.Origin? {
        let node = document.child(JSONDocument.root, Keys.origin.view)
        switch document.kind(node) {
        case .missing, .null:
            return nil
        case .object:
            guard let topic = document.string(document.child(node, Keys.topic.view))?.string,
                  let partition = document.int64(document.child(node, Keys.partition.view)),
                  let partition32 = Int32(exactly: partition),
                  let offset = document.int64(document.child(node, Keys.offset.view)) else {
                throw AlertDecodingError("not an alert: 'origin' needs topic (string), partition and offset (integers)")
            }
            return Alert.Origin(topic: topic, partition: partition32, offset: offset)
        case let kind:
            throw AlertDecodingError("not an alert: 'origin' is \(Self.describe(kind)), not an object")
        }
    }

    private static func describe(_ kind: JSONKind) -> String {
        switch kind {
        case .missing: return "missing"
        case .null: return "null"
        case .bool: return "a boolean"
        case .int64, .uint64, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}
