/// What makes a JSON document an audit event, decided as Falco's k8saudit plugin does: an object, of kind
/// `Event` (or without a kind), with an `auditID`, a `stage` and an RFC 3339 `stageTimestamp`. The ingress
/// dead-letters what fails this and the engine rejects it, with the same reasons.
public enum AuditEventShape {
    private static let kind = ByteConstant("kind"), event = ByteConstant("Event")
    private static let auditID = ByteConstant("auditID"), stage = ByteConstant("stage")
    private static let stageTimestamp = ByteConstant("stageTimestamp")

    /// The event's stageTimestamp in ns since the epoch, or nil when missing or not RFC 3339.
    public static func stageTime(in document: JSONDocument) -> Int64? {
        document.string(document.child(JSONDocument.root, stageTimestamp.view)).flatMap { Timestamp.parse($0) }
    }

    /// Why the parsed document is not an audit event (`not an audit event: …`), or nil when it is one.
    /// `stageTime` is the document's `stageTime(in:)`, which callers often have already.
    public static func problem(in document: JSONDocument, stageTime: Int64?) -> String? {
        let root = JSONDocument.root
        guard document.kind(root) == .object else {
            return "not an audit event: a JSON \(describe(document.kind(root))), not an object"
        }
        let kindNode = document.child(root, kind.view)
        if kindNode >= 0 {
            guard let text = document.string(kindNode), text.equals(event.view) else {
                let shown = document.string(kindNode)?.string ?? document.json(kindNode).string
                return "not an audit event: kind is \(shown), not Event"
            }
        }
        guard document.string(document.child(root, auditID.view)) != nil else { return "not an audit event: no auditID" }
        guard document.string(document.child(root, stage.view)) != nil else { return "not an audit event: no stage" }
        guard stageTime != nil else { return "not an audit event: no valid stageTimestamp (RFC 3339)" }
        return nil
    }

    public static func describe(_ kind: JSONKind) -> String {
        switch kind {
        case .object: return "object"
        case .array: return "array"
        case .string: return "string"
        case .null: return "null"
        case .bool: return "boolean"
        default: return "number"
        }
    }
}
