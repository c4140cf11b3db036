import AuditModel

/// A rule ready to evaluate: its definition, compiled condition and output.
final class CompiledRule: Sendable {
    /// Position in load order: Falco evaluates (and, by default, stops at) rules in this order.
    let order: Int
    let definition: RuleDefinition
    let predicate: Predicate
    let output: OutputFormat
    let sortedTags: [String]

    init(order: Int, definition: RuleDefinition, predicate: Predicate, output: OutputFormat) {
        self.order = order
        self.definition = definition
        self.predicate = predicate
        self.output = output
        sortedTags = Array(Set(definition.tags)).sorted()
    }

    var name: String { definition.name }
    var priority: Priority { definition.priority }
}
