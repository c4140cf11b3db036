import AuditModel

/// Which rules an event can possibly match, from the values of three fields
/// that nearly every audit rule pins down: stage, verb and resource.
///
/// For each rule, conditions that must hold (conjuncts of the top-level `and`,
/// through macros; both sides of an `or`) of the form `field = v` or
/// `field in (v, ...)` give the set of values the rule accepts. At run time
/// the event's three values map to small ids, and one table lookup yields
/// the candidate rules, already in load order.
final class RuleIndex: @unchecked Sendable {
    /// The indexed dimensions, each read through its own extractor.
    private let dimensions: [Dimension]
    /// Candidate rule lists, addressed by the combination of value ids.
    private let table: [[CompiledRule]]

    private final class Dimension: @unchecked Sendable {
        let fields: Set<String>
        let extractor: FieldExtractor
        /// Known values → id (1...n); anything else, or no value, is id 0.
        let ids: ByteSet
        let values: [String]

        init(fields: Set<String>, extractor: FieldExtractor, values: [String]) {
            self.fields = fields
            self.extractor = extractor
            self.values = values
            ids = ByteSet(values)
        }

        var cardinality: Int { values.count + 1 }

        func id(_ context: EventContext) -> Int {
            let range = context.values(of: extractor)
            guard range.count == 1 else { return 0 }
            return ids.index(of: context.value(at: range.start)).map { $0 + 1 } ?? 0
        }
    }

    init(rules: [CompiledRule], catalog: FieldCatalog) throws {
        let specifications: [(Set<String>, String)] = [
            (["ka.stage", "jevt.value[/stage]"], "ka.stage"),
            (["ka.verb", "jevt.value[/verb]"], "ka.verb"),
            (["ka.target.resource", "jevt.value[/objectRef/resource]"], "ka.target.resource"),
        ]
        // Each rule's accepted values per dimension (nil: any value).
        var accepted = [[Set<String>?]](repeating: [], count: rules.count)
        var dimensions: [Dimension] = []
        for (fields, canonical) in specifications {
            var allValues = Set<String>()
            for (index, rule) in rules.enumerated() {
                let values = Self.constraint(rule.predicate, fields: fields)
                accepted[index].append(values)
                allValues.formUnion(values ?? [])
            }
            let extractor = try catalog.extractor(name: canonical, argument: nil)
            dimensions.append(Dimension(fields: fields, extractor: extractor, values: allValues.sorted()))
        }
        self.dimensions = dimensions
        let size = dimensions.reduce(1) { $0 * $1.cardinality }
        var table = [[CompiledRule]](repeating: [], count: size)
        for slot in 0..<size {
            // Decode the slot into one value id per dimension.
            var remainder = slot
            var ids: [Int] = []
            for dimension in dimensions.reversed() {
                ids.insert(remainder % dimension.cardinality, at: 0)
                remainder /= dimension.cardinality
            }
            table[slot] = rules.enumerated().filter { index, _ in
                for (dimensionIndex, dimension) in dimensions.enumerated() {
                    guard let values = accepted[index][dimensionIndex] else { continue }
                    let id = ids[dimensionIndex]
                    if id == 0 || !values.contains(dimension.values[id - 1]) { return false }
                }
                return true
            }.map(\.1)
        }
        self.table = table
    }

    /// The rules that can match the context's current event, in load order.
    @inline(__always)
    func candidates(_ context: EventContext) -> [CompiledRule] {
        var slot = 0
        for dimension in dimensions {
            slot = slot * dimension.cardinality + dimension.id(context)
        }
        return table[slot]
    }

    /// The values a predicate requires a field (any of `fields`) to have, or nil if it does not constrain it.
    static func constraint(_ predicate: Predicate, fields: Set<String>) -> Set<String>? {
        switch predicate {
        case let and as AndPredicate:
            // Every conjunct must hold: intersect what each requires.
            var result: Set<String>?
            for child in and.children {
                if let values = constraint(child, fields: fields) {
                    result = result.map { $0.intersection(values) } ?? values
                }
            }
            return result
        case let or as OrPredicate:
            // Some branch holds: the union, and only if every branch constrains.
            var result = Set<String>()
            for child in or.children {
                guard let values = constraint(child, fields: fields) else { return nil }
                result.formUnion(values)
            }
            return result
        case let compare as ComparePredicate:
            guard fields.contains(compare.field.displayName), !compare.field.isList else { return nil }
            if let equal = compare.matcher as? EqualMatcher, !equal.negate { return [equal.constant.string] }
            if let set = compare.matcher as? SetMatcher { return Set(set.set.strings) }
            return nil
        case let constant as ConstantPredicate:
            return constant.value ? nil : []
        default:
            return nil
        }
    }
}
