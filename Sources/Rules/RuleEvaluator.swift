import AuditModel

/// Why an input item is not evaluated: it is not JSON, or not an audit event.
public struct EventRejection: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// Evaluates events against a rule set. Owns a parser and per-event buffers,
/// so it is used by one thread at a time; make one per worker.
public final class RuleEvaluator {
    public let ruleSet: RuleSet
    public let context: EventContext
    private let hostname: String
    private let hostnameStorage: ByteConstant

    private static let auditID = ByteConstant("auditID"), stage = ByteConstant("stage")
    /// The output field that carries `RuleSet.version` in every alert.
    public static let rulesVersionField = "auditpipe.rules_version"

    init(ruleSet: RuleSet, hostname: String) {
        self.ruleSet = ruleSet
        self.hostname = hostname
        context = ruleSet.catalog.makeContext()
        hostnameStorage = ByteConstant(hostname)
        context.hostname = hostnameStorage.view
    }

    /// Evaluates one event (the JSON bytes of an audit.k8s.io Event) and returns its alerts.
    /// `cluster` fills ka.cluster.name; `origin` says where in Kafka the event came from.
    public func evaluate(_ bytes: UnsafeRawBufferPointer, cluster: String = "",
                         origin: Alert.Origin? = nil) throws -> [Alert] {
        var alerts: [Alert] = []
        try evaluate(bytes, cluster: cluster, origin: origin) { alerts.append($0) }
        return alerts
    }

    public func evaluate(_ bytes: [UInt8], cluster: String = "", origin: Alert.Origin? = nil) throws -> [Alert] {
        try bytes.withUnsafeBytes { try evaluate($0, cluster: cluster, origin: origin) }
    }

    /// The allocation-free path: calls `emit` for each alert (alerts are rare; events are not).
    public func evaluate(_ bytes: UnsafeRawBufferPointer, cluster: String, origin: Alert.Origin?,
                         emit: (Alert) -> Void) throws {
        try evaluate(bytes, cluster: cluster, origin: origin, within: nil, emit: emit)
    }

    /// As `evaluate(_:cluster:origin:emit:)`, for events whose time (stageTimestamp, ns since the epoch) lies in
    /// `window` only: an event outside it gets no alerts and the answer false. Replay selects its time range
    /// this way, with the one parse that evaluation needs anyway. A nil window takes every event.
    @discardableResult
    public func evaluate(_ bytes: UnsafeRawBufferPointer, cluster: String, origin: Alert.Origin?,
                         within window: Range<Int64>?, emit: (Alert) -> Void) throws -> Bool {
        do {
            try context.load(bytes)
        } catch let error as JSONParseError {
            throw EventRejection(reason: "not JSON: \(error.description)")
        }
        try validate()
        if let window, let time = context.eventTime, !window.contains(time) { return false }
        context.cluster = cluster.isEmpty ? .empty : clusterConstant(cluster).view
        try run(cluster: cluster, origin: origin, emit: emit)
        return true
    }

    /// Cluster names as stable bytes for ka.cluster.name; there are few clusters.
    private var clusterConstants: [String: ByteConstant] = [:]

    private func clusterConstant(_ cluster: String) -> ByteConstant {
        if let known = clusterConstants[cluster] { return known }
        let constant = ByteConstant(cluster)
        if clusterConstants.count > 10_000 { clusterConstants.removeAll() }
        clusterConstants[cluster] = constant
        return constant
    }

    private func run(cluster: String, origin: Alert.Origin?, emit: (Alert) -> Void) throws {
        let candidates = ruleSet.index.candidates(context)
        for rule in candidates where rule.predicate.evaluate(context) {
            emit(makeAlert(rule, cluster: cluster, origin: origin))
            if ruleSet.matching == .first { break }
        }
    }

    /// Falco's k8saudit plugin accepts objects of kind Event with an auditID and a stageTimestamp.
    private func validate() throws {
        if let problem = AuditEventShape.problem(in: context.document, stageTime: context.eventTime) {
            throw EventRejection(reason: problem)
        }
    }

    private func makeAlert(_ rule: CompiledRule, cluster: String, origin: Alert.Origin?) -> Alert {
        let time = context.eventTime ?? 0
        let message = rule.output.render(context)
        var fields = rule.output.outputFields(context)
        fields.append(("evt.time", .integer(time)))
        // Which rules said this: alerts from a reloaded or changed rule set can be told apart.
        fields.append((Self.rulesVersionField, .string(ruleSet.version)))
        let document = context.document
        let auditID = document.string(document.child(JSONDocument.root, Self.auditID.view))?.string ?? ""
        let stage = document.string(document.child(JSONDocument.root, Self.stage.view))?.string ?? ""
        return Alert(
            time: time, rule: rule.name, priority: rule.priority,
            output: "\(Timestamp.timeOfDay(time)): \(rule.priority.name) \(message)",
            outputFields: fields, source: RulesLoader.source, tags: rule.sortedTags, hostname: hostname,
            cluster: cluster, auditID: auditID,
            id: AlertID.make(cluster: cluster, auditID: auditID, stage: stage, rule: rule.name), origin: origin)
    }
}
