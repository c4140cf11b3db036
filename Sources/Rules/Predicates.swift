import AuditModel

/// A compiled condition: a tree of small objects, each with one job, evaluated
/// against the event in an `EventContext`. Built once per rules load.
class Predicate: @unchecked Sendable {
    func evaluate(_ context: EventContext) -> Bool { false }
}

final class AndPredicate: Predicate, @unchecked Sendable {
    let children: [Predicate]
    init(_ children: [Predicate]) { self.children = children }
    override func evaluate(_ context: EventContext) -> Bool {
        for child in children where !child.evaluate(context) { return false }
        return true
    }
}

final class OrPredicate: Predicate, @unchecked Sendable {
    let children: [Predicate]
    init(_ children: [Predicate]) { self.children = children }
    override func evaluate(_ context: EventContext) -> Bool {
        for child in children where child.evaluate(context) { return true }
        return false
    }
}

final class NotPredicate: Predicate, @unchecked Sendable {
    let child: Predicate
    init(_ child: Predicate) { self.child = child }
    override func evaluate(_ context: EventContext) -> Bool { !child.evaluate(context) }
}

final class ConstantPredicate: Predicate, @unchecked Sendable {
    let value: Bool
    init(_ value: Bool) { self.value = value }
    override func evaluate(_ context: EventContext) -> Bool { value }
}

/// `field exists`: the field has at least one value.
final class ExistsPredicate: Predicate, @unchecked Sendable {
    let field: FieldExtractor
    init(_ field: FieldExtractor) { self.field = field }
    override func evaluate(_ context: EventContext) -> Bool { !context.values(of: field).isEmpty }
}

/// `field op constant`. A field without a value makes the comparison false.
/// On list fields, `in` and `pmatch` need every value to match; every other
/// operator (`intersects`, `=`, `contains`, ...) needs one.
final class ComparePredicate: Predicate, @unchecked Sendable {
    enum Quantifier { case any, all }

    let field: FieldExtractor
    let matcher: ValueMatcher
    let quantifier: Quantifier

    init(field: FieldExtractor, matcher: ValueMatcher, quantifier: Quantifier) {
        self.field = field
        self.matcher = matcher
        self.quantifier = quantifier
    }

    override func evaluate(_ context: EventContext) -> Bool {
        let values = context.values(of: field)
        if values.isEmpty { return false }
        if values.count == 1 { return matcher.matches(context.value(at: values.start)) }
        switch quantifier {
        case .any:
            for index in values.start..<(values.start + values.count) where matcher.matches(context.value(at: index)) {
                return true
            }
            return false
        case .all:
            for index in values.start..<(values.start + values.count) where !matcher.matches(context.value(at: index)) {
                return false
            }
            return true
        }
    }
}
