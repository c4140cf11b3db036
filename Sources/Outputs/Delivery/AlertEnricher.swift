import Rules

/// Adds an output's custom fields (static) and templated fields (rendered from each alert's
/// output_fields) to the alert's output_fields before the output sees it, as falcosidekick's
/// customfields and templatedfields do. A field of the same name is replaced (a templated field wins over a custom one). The alert's JSON
/// is re-encoded only when there is something to add: otherwise outputs get the bytes the
/// engine published.
public struct AlertEnricher: Sendable {
    private let custom: [(String, OutputFieldValue)]
    private let templated: [(String, FieldTemplate)]

    public init(customFields: [String: String], templatedFields: [String: String]) throws(FieldTemplate.SyntaxError) {
        custom = customFields.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }
        var templates: [(String, FieldTemplate)] = []
        for (name, text) in templatedFields.sorted(by: { $0.key < $1.key }) {
            templates.append((name, try FieldTemplate(parsing: text)))
        }
        templated = templates
    }

    public var isEmpty: Bool { custom.isEmpty && templated.isEmpty }

    public func apply(_ alert: OutputAlert) -> OutputAlert {
        guard !isEmpty else { return alert }
        // Templates read the fields as the engine wrote them, not each other's results.
        let rendered = templated.map { ($0.0, OutputFieldValue.string($0.1.render(alert.alert))) }
        let templatedNames = Set(templated.map(\.0))
        let added = custom.filter { !templatedNames.contains($0.0) } + rendered
        let names = Set(added.map(\.0))
        var enriched = alert.alert
        enriched.outputFields = enriched.outputFields.filter { !names.contains($0.0) } + added
        return OutputAlert(json: Array(AlertEncoder.json(enriched).utf8), alert: enriched, key: alert.key)
    }
}
