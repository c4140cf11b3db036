import AuditModel

/// Turns loaded definitions into evaluable rules: parses conditions, expands
/// macros and lists, builds exceptions into the condition as Falco does, and
/// binds every field to its extractor. Reports every error with FILE:LINE:COL.
struct RuleCompiler {
    private let definitions: RuleSetDefinition
    private let catalog: FieldCatalog
    private var errors: [RuleDiagnostic] = []
    private(set) var warnings: [RuleDiagnostic] = []
    private var parsedMacros: [String: ConditionNode] = [:]
    private var compiledMacros: [String: Predicate] = [:]
    private var expandedLists: [String: [String]] = [:]

    init(definitions: RuleSetDefinition, catalog: FieldCatalog) {
        self.definitions = definitions
        self.catalog = catalog
    }

    /// Compiles every rule (disabled ones too, so their errors are reported); returns the enabled ones.
    mutating func compile() throws -> [CompiledRule] {
        for name in definitions.macros.keys.sorted() {
            let macro = definitions.macros[name]!
            do {
                parsedMacros[name] = try ConditionParser.parse(macro.condition.text)
            } catch let error as ConditionSyntaxError {
                errors.append(RuleDiagnostic(.error, macro.condition.locate(error.position),
                                             "macro '\(name)': \(error.message)"))
            } catch {}
        }
        var compiled: [CompiledRule] = []
        for (order, rule) in definitions.rules.enumerated() {
            // The output is checked even when the condition fails, so one run reports both.
            let predicate = compileRule(rule)
            if predicate == nil, warnings.last?.message.hasPrefix("rule '\(rule.name)' uses a field") == true { continue }
            let output: OutputFormat
            do {
                output = try OutputFormat(rule.output, catalog: catalog)
            } catch let error as OutputFormatError {
                if rule.skipIfUnknownFilter && error.message.contains("unknown field") {
                    warnings.append(RuleDiagnostic(.warning, rule.location,
                                                   "rule '\(rule.name)' uses a field auditpipe does not know and has skip-if-unknown-filter: skipped"))
                    continue
                }
                errors.append(RuleDiagnostic(.error, rule.outputLocation, "rule '\(rule.name)': \(error.message)"))
                continue
            }
            if let predicate, rule.enabled {
                compiled.append(CompiledRule(order: order, definition: rule, predicate: predicate, output: output))
            }
        }
        if definitions.skippedRules.isEmpty {
            warnUnused()
        }
        if !errors.isEmpty {
            let sorted = errors.sorted { Self.order($0.location, $1.location) }
            throw RulesLoadError(diagnostics: sorted)
        }
        return compiled
    }

    private mutating func compileRule(_ rule: RuleDefinition) -> Predicate? {
        let condition: ConditionNode
        do {
            condition = try ConditionParser.parse(rule.condition.text)
        } catch let error as ConditionSyntaxError {
            errors.append(RuleDiagnostic(.error, rule.condition.locate(error.position),
                                         "rule '\(rule.name)': \(error.message)"))
            return nil
        } catch {
            return nil
        }
        let errorCount = errors.count
        var predicate = compile(condition, locate: rule.condition.locate, owner: "rule '\(rule.name)'", macroStack: [])
        for exception in rule.exceptions {
            guard let node = exceptionCondition(exception, rule: rule) else { continue }
            let exceptionPredicate = compile(node, locate: { _ in exception.location },
                                             owner: "exception '\(exception.name)' of rule '\(rule.name)'", macroStack: [])
            predicate = AndPredicate([predicate, NotPredicate(exceptionPredicate)])
        }
        if errors.count != errorCount, rule.skipIfUnknownFilter,
           errors[errorCount...].allSatisfy({ $0.message.contains("unknown field") }) {
            errors.removeSubrange(errorCount...)
            warnings.append(RuleDiagnostic(.warning, rule.location,
                                           "rule '\(rule.name)' uses a field auditpipe does not know and has skip-if-unknown-filter: skipped"))
            return nil
        }
        return errors.count == errorCount ? predicate : nil
    }

    // MARK: - Conditions

    private mutating func compile(_ node: ConditionNode, locate: (Int) -> SourceLocation, owner: String,
                                  macroStack: [String]) -> Predicate {
        switch node {
        case .and(let children):
            return AndPredicate(children.map { compile($0, locate: locate, owner: owner, macroStack: macroStack) })
        case .or(let children):
            return OrPredicate(children.map { compile($0, locate: locate, owner: owner, macroStack: macroStack) })
        case .not(let child):
            return NotPredicate(compile(child, locate: locate, owner: owner, macroStack: macroStack))
        case .macro(let name, let position):
            return macro(name, at: locate(position), owner: owner, macroStack: macroStack)
        case .exists(let reference):
            guard let field = field(reference, locate: locate, owner: owner) else { return ConstantPredicate(false) }
            return ExistsPredicate(field)
        case .compare(let reference, let op, let operand):
            guard let field = field(reference, locate: locate, owner: owner) else { return ConstantPredicate(false) }
            // As in libsinsp, a list field takes only set operators; an index makes it a single value.
            if field.isList, field.argument == nil, !op.takesList {
                errors.append(RuleDiagnostic(.error, locate(reference.position),
                    "\(owner): '\(op.rawValue)' is not supported on the list field \(field.name): use in, intersects, "
                        + "pmatch or exists (or an index, as in \(field.name)[0])"))
                return ConstantPredicate(false)
            }
            guard let matcher = matcher(op, operand, field: field, locate: locate, owner: owner) else {
                return ConstantPredicate(false)
            }
            let quantifier: ComparePredicate.Quantifier = (op == .in || op == .pmatch) ? .all : .any
            return ComparePredicate(field: field, matcher: matcher, quantifier: quantifier)
        }
    }

    private mutating func macro(_ name: String, at location: SourceLocation, owner: String,
                                macroStack: [String]) -> Predicate {
        if let compiled = compiledMacros[name] { return compiled }
        guard let definition = definitions.macros[name] else {
            errors.append(RuleDiagnostic(.error, location, "\(owner): undefined macro '\(name)'"))
            return ConstantPredicate(false)
        }
        if macroStack.contains(name) {
            errors.append(RuleDiagnostic(.error, location, "\(owner): macro '\(name)' refers to itself through "
                + (macroStack + [name]).joined(separator: " -> ")))
            return ConstantPredicate(false)
        }
        guard let parsed = parsedMacros[name] else {
            return ConstantPredicate(false)  // its syntax error is already reported
        }
        let predicate = compile(parsed, locate: definition.condition.locate, owner: "macro '\(name)'",
                                macroStack: macroStack + [name])
        compiledMacros[name] = predicate
        return predicate
    }

    private mutating func field(_ reference: FieldReference, locate: (Int) -> SourceLocation,
                                owner: String) -> FieldExtractor? {
        do {
            return try catalog.extractor(name: reference.name, argument: reference.argument)
        } catch let error as FieldError {
            errors.append(RuleDiagnostic(.error, locate(reference.position), "\(owner): \(error.message)"))
            return nil
        } catch {
            return nil
        }
    }

    private mutating func matcher(_ op: ComparisonOperator, _ operand: Operand, field: FieldExtractor,
                                  locate: (Int) -> SourceLocation, owner: String) -> ValueMatcher? {
        switch operand {
        case .list(let items):
            let values = items.flatMap { expand($0, at: locate($0.position), owner: owner) }
            switch op {
            case .in, .intersects: return SetMatcher(values)
            case .pmatch: return PathPrefixMatcher(values)
            default:
                errors.append(RuleDiagnostic(.error, locate(items.first?.position ?? 0),
                                             "\(owner): operator '\(op.rawValue)' takes a single value, not a list"))
                return nil
            }
        case .value(let value):
            let text = value.text
            switch op {
            case .equal, .equalEqual, .notEqual:
                if field.type == .uint64 {
                    guard let number = Double(text) else {
                        errors.append(RuleDiagnostic(.error, locate(value.position),
                                                     "\(owner): '\(text)' is not a number, and \(field.displayName) is numeric"))
                        return nil
                    }
                    return NumericEqualMatcher(number, integer: Int64(text), negate: op == .notEqual)
                }
                return EqualMatcher(text, negate: op == .notEqual)
            case .less, .lessEqual, .greater, .greaterEqual:
                guard Double(text) != nil else {
                    errors.append(RuleDiagnostic(.error, locate(value.position), "\(owner): '\(op.rawValue)' needs a number, not '\(text)'"))
                    return nil
                }
                return OrderMatcher(op, text)
            case .contains: return ContainsMatcher(text)
            case .icontains: return IContainsMatcher(text)
            case .startswith: return StartsWithMatcher(text)
            case .endswith: return EndsWithMatcher(text)
            case .glob: return GlobMatcher(text, caseInsensitive: false)
            case .iglob: return GlobMatcher(text, caseInsensitive: true)
            case .bcontains, .bstartswith:
                guard let bytes = Self.hexBytes(text) else {
                    errors.append(RuleDiagnostic(.error, locate(value.position),
                                                 "\(owner): '\(op.rawValue)' takes hex bytes (like 2f6574), not '\(text)'"))
                    return nil
                }
                return op == .bcontains ? BytesContainsMatcher(bytes: bytes) : StartsWithMatcher(bytes: bytes)
            case .in, .intersects, .pmatch:
                return nil  // the parser always gives list operators a list
            }
        }
    }

    /// A bare word naming a list stands for the list's items (lists nest); anything else is itself.
    private mutating func expand(_ value: OperandValue, at location: SourceLocation, owner: String) -> [String] {
        guard !value.quoted, definitions.lists[value.text] != nil else {
            if !value.quoted, Self.looksLikeListName(value.text) {
                warnings.append(RuleDiagnostic(.warning, location, "\(owner): '\(value.text)' is not a defined list, "
                    + "so it is compared as a literal value (quote it to say that is meant)"))
            }
            return [value.text]
        }
        return expandList(value.text, stack: [])
    }

    /// snake_case with an underscore, as list names are: a bare value like that is probably a misspelt list.
    private static func looksLikeListName(_ text: String) -> Bool {
        text.contains("_") && text.first?.isLetter == true
            && text.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
    }

    private mutating func expandList(_ name: String, stack: [String]) -> [String] {
        if let done = expandedLists[name] { return done }
        guard let list = definitions.lists[name], !stack.contains(name) else { return [name] }
        var result: [String] = []
        for item in list.items {
            if definitions.lists[item.text] != nil {
                result += expandList(item.text, stack: stack + [name])
            } else {
                result.append(item.text)
            }
        }
        expandedLists[name] = result
        return result
    }

    static func hexBytes(_ text: String) -> ByteConstant? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let high = Hex.value(digits[index]), let low = Hex.value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return ByteConstant(String(decoding: bytes, as: UTF8.self))
    }

    /// Falco's warnings for definitions nothing uses (skipped when a file mixes in other
    /// sources, whose macros and lists are unused here by design).
    private mutating func warnUnused() {
        for macro in definitions.macros.values.sorted(by: { Self.order($0.location, $1.location) })
        where compiledMacros[macro.name] == nil {
            warnings.append(RuleDiagnostic(.warning, macro.location, "macro '\(macro.name)' is not used by any rule or macro"))
        }
        for list in definitions.lists.values.sorted(by: { Self.order($0.location, $1.location) })
        where expandedLists[list.name] == nil {
            warnings.append(RuleDiagnostic(.warning, list.location, "list '\(list.name)' is not used by any rule, macro or list"))
        }
    }

    static func order(_ lhs: SourceLocation, _ rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }

    // MARK: - Exceptions

    /// Falco's exception semantics: the rule fires unless some value row matches.
    /// One field: `field comp (v1, v2, ...)` (comp defaults to `in`).
    /// Several fields: `(f1 c1 v1 and f2 c2 v2) or (...)`, comps default to `=`.
    private mutating func exceptionCondition(_ exception: ExceptionDefinition, rule: RuleDefinition) -> ConditionNode? {
        guard !exception.values.isEmpty, let fields = exception.fields else { return nil }
        let what = "exception '\(exception.name)' of rule '\(rule.name)'"
        switch fields {
        case .single(let fieldName):
            guard let reference = Self.fieldReference(fieldName) else {
                errors.append(RuleDiagnostic(.error, exception.location, "\(what): '\(fieldName)' is not a field name"))
                return nil
            }
            let comp = exception.comps?.first ?? "in"
            guard let op = Self.comparisonOperator(comp), op.takesList else {
                errors.append(RuleDiagnostic(.error, exception.location,
                                             "\(what): with a single field, comps must be in, intersects or pmatch, not '\(comp)'"))
                return nil
            }
            let values = exception.values.flatMap { row in
                row.flatMap { value -> [OperandValue] in
                    switch value {
                    case .scalar(let text): return [OperandValue(text: text, quoted: false, position: 0)]
                    case .list(let items): return items.map { OperandValue(text: $0, quoted: false, position: 0) }
                    }
                }
            }
            return .compare(field: reference, op: op, operand: .list(values))
        case .tuple(let fieldNames):
            var references: [FieldReference] = []
            var operators: [ComparisonOperator] = []
            for (index, fieldName) in fieldNames.enumerated() {
                guard let reference = Self.fieldReference(fieldName) else {
                    errors.append(RuleDiagnostic(.error, exception.location, "\(what): '\(fieldName)' is not a field name"))
                    return nil
                }
                let comp = exception.comps?[index] ?? "="
                guard let op = Self.comparisonOperator(comp) else {
                    errors.append(RuleDiagnostic(.error, exception.location, "\(what): unknown operator '\(comp)'"))
                    return nil
                }
                references.append(reference)
                operators.append(op)
            }
            var rows: [ConditionNode] = []
            for row in exception.values {
                var terms: [ConditionNode] = []
                for (index, value) in row.enumerated() where index < references.count {
                    let op = operators[index]
                    switch (value, op.takesList) {
                    case (.scalar(let text), true):
                        terms.append(.compare(field: references[index], op: op,
                                              operand: .list([OperandValue(text: text, quoted: false, position: 0)])))
                    case (.list(let items), true):
                        terms.append(.compare(field: references[index], op: op,
                                              operand: .list(items.map { OperandValue(text: $0, quoted: false, position: 0) })))
                    case (.scalar(let text), false):
                        terms.append(.compare(field: references[index], op: op,
                                              operand: .value(OperandValue(text: text, quoted: true, position: 0))))
                    case (.list, false):
                        errors.append(RuleDiagnostic(.error, exception.location,
                                                     "\(what): a list value needs in, intersects or pmatch, not '\(op.rawValue)'"))
                        return nil
                    }
                }
                rows.append(terms.count == 1 ? terms[0] : .and(terms))
            }
            return rows.count == 1 ? rows[0] : .or(rows)
        }
    }

    private static func fieldReference(_ text: String) -> FieldReference? {
        var name = text
        var argument: String?
        if let open = text.firstIndex(of: "["), text.hasSuffix("]") {
            name = String(text[..<open])
            argument = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        }
        guard !name.isEmpty else { return nil }
        return FieldReference(name: name, argument: argument, position: 0)
    }

    private static func comparisonOperator(_ text: String) -> ComparisonOperator? {
        ComparisonOperator(rawValue: text) ?? ComparisonOperator.words[text]
    }
}
