import Foundation
import Yams

/// Reads Falco rules files into one `RuleSetDefinition`, applying redefinitions,
/// `append: true` and `override:` in file order exactly as Falco's rule loader
/// does. Files load in the order given; later ones add to and override earlier ones.
/// Conditions are only parsed here; fields, macros and lists are resolved by `RuleCompiler`.
public struct RulesLoader {
    /// The source our fields belong to; rules of any other source are skipped.
    public static let source = "k8s_audit"
    /// Falco's engine version this loader implements (rules may require up to it).
    public static let engineVersion = SemanticVersion(major: 0, minor: 43, patch: 0)
    /// Plugins whose fields we provide, at the versions they match.
    public static let pluginVersions: [String: SemanticVersion] = [
        "k8saudit": SemanticVersion(major: 0, minor: 18, patch: 0),
        "json": SemanticVersion(major: 0, minor: 7, patch: 0),
    ]

    private var definitions = RuleSetDefinition()
    private var errors: [RuleDiagnostic] = []
    /// Rules seen with another source: later appends to them are skipped too.
    private var otherSourceRules: [String: String] = [:]

    public init() {}

    /// Loads files in order; throws every error found, or returns the definitions with warnings.
    public static func load(files: [String]) throws -> RuleSetDefinition {
        var loader = RulesLoader()
        for file in files {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                loader.errors.append(RuleDiagnostic(.error, SourceLocation(file: file, line: 1, column: 1),
                                                    "cannot read rules file: \(error.localizedDescription)"))
                continue
            }
            loader.load(yaml: text, file: file)
        }
        return try loader.finish()
    }

    /// Loads one file's text (the name is used in messages).
    public mutating func load(yaml text: String, file: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            errors.append(Self.diagnostic(for: error, file: file))
            return
        } catch {
            errors.append(RuleDiagnostic(.error, SourceLocation(file: file, line: 1, column: 1), "\(error)"))
            return
        }
        guard let root else { return }  // an empty file defines nothing
        guard case .sequence(let items) = root else {
            errors.append(RuleDiagnostic(.error, location(root, file), "a rules file must be a YAML sequence of items "
                + "(each a mapping with one of: rule, macro, list, required_engine_version, required_plugin_versions)"))
            return
        }
        let context = FileContext(file: file, lines: lines)
        for item in items {
            loadItem(item, context)
        }
    }

    public mutating func finish() throws -> RuleSetDefinition {
        if !errors.isEmpty {
            throw RulesLoadError(diagnostics: errors + definitions.warnings)
        }
        return definitions
    }

    // MARK: - Items

    private struct FileContext {
        let file: String
        let lines: [Substring]
    }

    private mutating func loadItem(_ item: Node, _ context: FileContext) {
        guard case .mapping(let mapping) = item else {
            error(item, context, "each item must be a mapping with one of: rule, macro, list, "
                + "required_engine_version, required_plugin_versions")
            return
        }
        let keys = mapping.keys.compactMap(\.string)
        if mapping["rule"] != nil {
            loadRule(item, context)
        } else if mapping["macro"] != nil {
            loadMacro(item, context)
        } else if mapping["list"] != nil {
            loadList(item, context)
        } else if let version = mapping["required_engine_version"] {
            checkEngineVersion(version, context)
        } else if let plugins = mapping["required_plugin_versions"] {
            checkPluginVersions(plugins, context)
        } else {
            error(item, context, "unknown item with keys \(keys.joined(separator: ", ")); expected one of: "
                + "rule, macro, list, required_engine_version, required_plugin_versions")
        }
    }

    private mutating func checkEngineVersion(_ node: Node, _ context: FileContext) {
        guard let text = node.string, let required = SemanticVersion(engineVersion: text) else {
            error(node, context, "required_engine_version must be a number or a semantic version, not '\(node.string ?? "")'")
            return
        }
        if required > Self.engineVersion {
            warning(node, context, "rules require engine version \(required), newer than this engine's "
                + "\(Self.engineVersion); some rules may not load")
        }
    }

    private mutating func checkPluginVersions(_ node: Node, _ context: FileContext) {
        guard case .sequence(let entries) = node else {
            error(node, context, "required_plugin_versions must be a sequence of {name, version}")
            return
        }
        for entry in entries {
            guard let name = entry["name"]?.string, let versionText = entry["version"]?.string else {
                error(entry, context, "each required_plugin_versions entry needs 'name' and 'version'")
                continue
            }
            guard let version = SemanticVersion(parsing: versionText) else {
                error(entry["version"]!, context, "plugin '\(name)' has version '\(versionText)', not a semantic version")
                continue
            }
            var candidates = [(name, version)]
            if case .sequence(let alternatives)? = entry["alternatives"] {
                for alternative in alternatives {
                    if let alternativeName = alternative["name"]?.string,
                       let alternativeVersion = alternative["version"]?.string.flatMap(SemanticVersion.init(parsing:)) {
                        candidates.append((alternativeName, alternativeVersion))
                    }
                }
            }
            let satisfied = candidates.contains { candidate in
                Self.pluginVersions[candidate.0].map { $0.isCompatible(withRequired: candidate.1) } ?? false
            }
            if !satisfied {
                let provided = candidates.compactMap { candidate in
                    Self.pluginVersions[candidate.0].map { "\(candidate.0) \($0)" }
                }
                let detail = provided.isEmpty ? "which auditpipe does not provide" : "auditpipe provides \(provided.joined(separator: ", "))"
                warning(entry, context, "rules require plugin \(name) \(version), \(detail)")
            }
        }
    }

    // MARK: Lists

    private mutating func loadList(_ item: Node, _ context: FileContext) {
        guard let name = requiredString(item, "list", context) else { return }
        guard checkKeys(item, allowed: ["list", "items", "append", "override"], what: "list '\(name)'", context) else { return }
        guard let mode = mergeMode(item, appendable: ["items"], replaceable: ["items"], what: "list '\(name)'", context) else { return }
        guard let itemsNode = item["items"] else {
            error(item, context, "list '\(name)' has no 'items'")
            return
        }
        guard case .sequence = itemsNode else {
            error(itemsNode, context, "items of list '\(name)' must be a sequence")
            return
        }
        let items = listItems(itemsNode, context)
        let location = location(item, context.file)
        if case .define = mode {
            definitions.lists[name] = ListDefinition(name: name, items: items, location: location)
            return
        }
        guard definitions.lists[name] != nil else {
            error(item, context, "list '\(name)' \(mode.verb) a list that is not defined before it")
            return
        }
        if mode.appends("items") {
            definitions.lists[name]!.items += items
        } else {
            definitions.lists[name]!.items = items
        }
    }

    private func listItems(_ node: Node, _ context: FileContext) -> [ListItem] {
        guard case .sequence(let sequence) = node else {
            return node.string.map { [ListItem(text: $0, location: location(node, context.file))] } ?? []
        }
        // YAML sequences nested in items are flattened, as Falco does.
        return sequence.flatMap { listItems($0, context) }
    }

    // MARK: Macros

    private mutating func loadMacro(_ item: Node, _ context: FileContext) {
        guard let name = requiredString(item, "macro", context) else { return }
        guard checkKeys(item, allowed: ["macro", "condition", "append", "override", "source"], what: "macro '\(name)'", context) else { return }
        guard let mode = mergeMode(item, appendable: ["condition"], replaceable: ["condition"], what: "macro '\(name)'", context) else { return }
        guard let condition = conditionText(item, "condition", context, what: "macro '\(name)'") else { return }
        switch mode {
        case .define:
            definitions.macros[name] = MacroDefinition(name: name, condition: condition, location: location(item, context.file))
        case .append, .override:
            guard definitions.macros[name] != nil else {
                error(item, context, "macro '\(name)' \(mode.verb) a macro that is not defined before it")
                return
            }
            if mode.appends("condition") {
                definitions.macros[name]!.condition.append(condition)
            } else {
                definitions.macros[name]!.condition = condition
            }
        }
    }

    // MARK: Rules

    private static let ruleKeys: Set<String> = [
        "rule", "desc", "condition", "output", "priority", "source", "tags", "enabled", "exceptions",
        "append", "override", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration",
    ]
    private static let appendableRuleKeys: Set<String> = ["condition", "output", "desc", "tags", "exceptions"]
    private static let replaceableRuleKeys: Set<String> = [
        "condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes",
        "skip-if-unknown-filter", "capture", "capture_duration",
    ]

    private mutating func loadRule(_ item: Node, _ context: FileContext) {
        guard let name = requiredString(item, "rule", context) else { return }
        guard checkKeys(item, allowed: Self.ruleKeys, what: "rule '\(name)'", context) else { return }
        guard let mode = mergeMode(item, appendable: Self.appendableRuleKeys, replaceable: Self.replaceableRuleKeys,
                                   what: "rule '\(name)'", context) else { return }
        let source = item["source"]?.string

        if case .define = mode {
            let explicitKeys = Set((item.mapping?.keys.compactMap(\.string)) ?? [])
            // `- rule: X` with only `enabled:` switches an existing rule on or off (Falco's legacy form).
            if explicitKeys.isSubset(of: ["rule", "enabled"]) && explicitKeys.contains("enabled") {
                setEnabled(name: name, item: item, context)
                return
            }
            let ruleSource = source ?? "syscall"
            if ruleSource != Self.source {
                skip(name: name, source: ruleSource, explicit: source != nil, item: item, context)
                return
            }
            otherSourceRules[name] = nil
            defineRule(name: name, item: item, context)
            return
        }
        if otherSourceRules[name] != nil { return }  // an append to a skipped rule is skipped with it
        guard let index = definitions.rules.firstIndex(where: { $0.name == name }) else {
            error(item, context, "rule '\(name)' \(mode.verb) a rule that is not defined before it")
            return
        }
        if let source, source != definitions.rules[index].source {
            error(item["source"]!, context, "rule '\(name)' \(mode.verb) a rule of source "
                + "'\(definitions.rules[index].source)' with source '\(source)'")
            return
        }
        var rule = definitions.rules[index]
        mergeRule(into: &rule, item: item, mode: mode, context)
        definitions.rules[index] = rule
    }

    private mutating func skip(name: String, source: String, explicit: Bool, item: Node, _ context: FileContext) {
        definitions.skippedRules[source, default: 0] += 1
        otherSourceRules[name] = source
        if !explicit, let condition = item["condition"]?.string, condition.contains("ka.") || condition.contains("jevt.") {
            warning(item, context, "rule '\(name)' has no 'source'; Falco reads it as a syscall rule, so it is "
                + "skipped: add 'source: k8s_audit'")
        }
    }

    private mutating func setEnabled(name: String, item: Node, _ context: FileContext) {
        guard let enabled = item["enabled"]?.bool else {
            error(item["enabled"]!, context, "'enabled' of rule '\(name)' must be true or false")
            return
        }
        if otherSourceRules[name] != nil { return }
        guard let index = definitions.rules.firstIndex(where: { $0.name == name }) else {
            error(item, context, "rule '\(name)' sets 'enabled' on a rule that is not defined before it")
            return
        }
        definitions.rules[index].enabled = enabled
    }

    private mutating func defineRule(name: String, item: Node, _ context: FileContext) {
        var missing: [String] = []
        for key in ["condition", "output", "desc", "priority"] where item[key] == nil { missing.append(key) }
        if !missing.isEmpty {
            error(item, context, "rule '\(name)' has no \(missing.map { "'\($0)'" }.joined(separator: ", "))")
            return
        }
        guard let condition = conditionText(item, "condition", context, what: "rule '\(name)'"),
              let output = item["output"]?.string,
              let description = item["desc"]?.string,
              let priority = priority(item, name: name, context) else { return }
        guard let tags = tags(item, name: name, context),
              let exceptions = exceptions(item, name: name, context) else { return }
        var enabled = true
        if let enabledNode = item["enabled"] {
            guard let value = enabledNode.bool else {
                error(enabledNode, context, "'enabled' of rule '\(name)' must be true or false")
                return
            }
            enabled = value
        }
        var rule = RuleDefinition(
            name: name, description: description.trimmingCharacters(in: .whitespacesAndNewlines),
            condition: condition, output: output.trimmingCharacters(in: .whitespacesAndNewlines),
            outputLocation: location(item["output"]!, context.file), priority: priority, source: Self.source,
            tags: tags, enabled: enabled, exceptions: exceptions, location: location(item, context.file))
        rule.skipIfUnknownFilter = item["skip-if-unknown-filter"]?.bool ?? false
        if let index = definitions.rules.firstIndex(where: { $0.name == name }) {
            definitions.rules[index] = rule  // a redefinition keeps the original's place in the order
        } else {
            definitions.rules.append(rule)
        }
    }

    private mutating func mergeRule(into rule: inout RuleDefinition, item: Node, mode: MergeMode, _ context: FileContext) {
        let name = rule.name
        if item["condition"] != nil, let condition = conditionText(item, "condition", context, what: "rule '\(name)'") {
            if mode.appends("condition") { rule.condition.append(condition) } else { rule.condition = condition }
        }
        if let output = item["output"]?.string?.trimmingCharacters(in: .whitespacesAndNewlines) {
            rule.output = mode.appends("output") ? rule.output + " " + output : output
        }
        if let description = item["desc"]?.string?.trimmingCharacters(in: .whitespacesAndNewlines) {
            rule.description = mode.appends("desc") ? rule.description + " " + description : description
        }
        if item["priority"] != nil, let priority = priority(item, name: name, context) {
            rule.priority = priority
        }
        if item["tags"] != nil, let tags = tags(item, name: name, context) {
            rule.tags = mode.appends("tags") ? rule.tags + tags.filter { !rule.tags.contains($0) } : tags
        }
        if let skip = item["skip-if-unknown-filter"]?.bool { rule.skipIfUnknownFilter = skip }
        if let enabledNode = item["enabled"] {
            if let enabled = enabledNode.bool { rule.enabled = enabled } else {
                error(enabledNode, context, "'enabled' of rule '\(name)' must be true or false")
            }
        }
        if item["exceptions"] != nil, let exceptions = exceptions(item, name: name, context, appending: mode.appends("exceptions")) {
            if mode.appends("exceptions") {
                for exception in exceptions {
                    if let index = rule.exceptions.firstIndex(where: { $0.name == exception.name }) {
                        rule.exceptions[index].values += exception.values
                    } else if exception.fields == nil {
                        error(item, context, "exception '\(exception.name)' appended to rule '\(name)' is new and has no 'fields'")
                    } else {
                        rule.exceptions.append(exception)
                    }
                }
            } else {
                rule.exceptions = exceptions
            }
        }
    }

    private mutating func priority(_ item: Node, name: String, _ context: FileContext) -> Priority? {
        guard let node = item["priority"], let text = node.string, let priority = Priority(parsing: text) else {
            error(item["priority"] ?? item, context, "rule '\(name)' has priority '\(item["priority"]?.string ?? "")'; "
                + "expected one of emergency, alert, critical, error, warning, notice, informational (info), debug")
            return nil
        }
        return priority
    }

    private mutating func tags(_ item: Node, name: String, _ context: FileContext) -> [String]? {
        guard let node = item["tags"] else { return [] }
        guard case .sequence(let sequence) = node else {
            error(node, context, "tags of rule '\(name)' must be a sequence")
            return nil
        }
        return sequence.compactMap(\.string)
    }

    private mutating func exceptions(_ item: Node, name: String, _ context: FileContext,
                                     appending: Bool = false) -> [ExceptionDefinition]? {
        guard let node = item["exceptions"] else { return [] }
        guard case .sequence(let sequence) = node else {
            error(node, context, "exceptions of rule '\(name)' must be a sequence")
            return nil
        }
        var result: [ExceptionDefinition] = []
        for entry in sequence {
            guard let exceptionName = entry["name"]?.string else {
                error(entry, context, "an exception of rule '\(name)' has no 'name'")
                return nil
            }
            let what = "exception '\(exceptionName)' of rule '\(name)'"
            var fields: ExceptionDefinition.Fields?
            switch entry["fields"] {
            case .scalar(let scalar)?: fields = .single(scalar.string)
            case .sequence(let list)?: fields = .tuple(list.compactMap(\.string))
            case nil: fields = nil
            default:
                error(entry["fields"]!, context, "fields of \(what) must be a field name or a sequence of them")
                return nil
            }
            var comps: [String]?
            switch entry["comps"] {
            case .scalar(let scalar)?: comps = [scalar.string]
            case .sequence(let list)?: comps = list.compactMap(\.string)
            case nil: comps = nil
            default:
                error(entry["comps"]!, context, "comps of \(what) must be an operator or a sequence of them")
                return nil
            }
            if case .tuple(let names)? = fields, let comps, comps.count != names.count {
                error(entry["comps"]!, context, "\(what) has \(comps.count) comps for \(names.count) fields")
                return nil
            }
            if case .single? = fields, let comps, comps.count != 1 {
                error(entry["comps"]!, context, "\(what) has one field, so 'comps' must be a single operator")
                return nil
            }
            var values: [[ExceptionDefinition.Value]] = []
            if let valuesNode = entry["values"] {
                guard case .sequence(let rows) = valuesNode else {
                    error(valuesNode, context, "values of \(what) must be a sequence")
                    return nil
                }
                for row in rows {
                    switch (fields, row) {
                    case (.tuple(let names)?, .sequence(let tuple)):
                        let parsed = tuple.map(exceptionValue)
                        if parsed.count != names.count {
                            error(row, context, "a value of \(what) has \(parsed.count) entries for \(names.count) fields")
                            return nil
                        }
                        values.append(parsed)
                    case (.tuple?, _):
                        error(row, context, "each value of \(what) must be a sequence, one entry per field")
                        return nil
                    default:
                        // Single field, or an append that names an existing exception.
                        if case .sequence(let tuple) = row, case .tuple? = fields {
                            values.append(tuple.map(exceptionValue))
                        } else if case .sequence(let tuple) = row, fields == nil {
                            values.append(tuple.map(exceptionValue))
                        } else {
                            values.append([exceptionValue(row)])
                        }
                    }
                }
            }
            if fields == nil && !appending {
                error(entry, context, "\(what) has no 'fields'")
                return nil
            }
            result.append(ExceptionDefinition(name: exceptionName, fields: fields, comps: comps, values: values,
                                              location: location(entry, context.file)))
        }
        return result
    }

    private func exceptionValue(_ node: Node) -> ExceptionDefinition.Value {
        if case .sequence(let list) = node { return .list(list.compactMap(\.string)) }
        return .scalar(node.string ?? "")
    }

    // MARK: - Merge modes

    enum MergeMode {
        case define
        case append(Set<String>)
        case override(append: Set<String>, replace: Set<String>)

        var isLegacyAppend: Bool {
            if case .append = self { return true }
            return false
        }

        func appends(_ key: String) -> Bool {
            switch self {
            case .define: return false
            case .append: return true
            case .override(let append, _): return append.contains(key)
            }
        }

        var verb: String {
            if case .override = self { return "overrides" }
            return "appends to"
        }
    }

    private mutating func mergeMode(_ item: Node, appendable: Set<String>, replaceable: Set<String>,
                                    what: String, _ context: FileContext) -> MergeMode? {
        let appendNode = item["append"]
        let append: Bool
        if let appendNode {
            guard let value = appendNode.bool else {
                error(appendNode, context, "'append' of \(what) must be true or false")
                return nil
            }
            append = value
        } else {
            append = false
        }
        guard let overrideNode = item["override"] else {
            if append {
                let present = Set(item.mapping?.keys.compactMap(\.string) ?? [])
                return .append(present.intersection(appendable))
            }
            return .define
        }
        if append {
            error(overrideNode, context, "\(what) uses both 'override' and 'append: true'; use one of them")
            return nil
        }
        guard case .mapping(let overrides) = overrideNode else {
            error(overrideNode, context, "'override' of \(what) must map keys to 'append' or 'replace'")
            return nil
        }
        var appendKeys: Set<String> = []
        var replaceKeys: Set<String> = []
        for (keyNode, valueNode) in overrides {
            let key = keyNode.string ?? ""
            switch valueNode.string {
            case "append":
                guard appendable.contains(key) else {
                    error(keyNode, context, "'\(key)' of \(what) cannot be appended to; "
                        + (replaceable.contains(key) ? "use 'replace'" : "it cannot be overridden"))
                    return nil
                }
                appendKeys.insert(key)
            case "replace":
                guard replaceable.contains(key) else {
                    error(keyNode, context, "'\(key)' of \(what) cannot be replaced")
                    return nil
                }
                replaceKeys.insert(key)
            default:
                error(valueNode, context, "override of '\(key)' in \(what) must be 'append' or 'replace', "
                    + "not '\(valueNode.string ?? "")'")
                return nil
            }
            if item[key] == nil {
                error(keyNode, context, "\(what) overrides '\(key)' but does not give it")
                return nil
            }
        }
        let nameKeys: Set<String> = ["rule", "macro", "list", "override", "source"]
        for key in item.mapping?.keys.compactMap(\.string) ?? [] where !nameKeys.contains(key) {
            if !appendKeys.contains(key) && !replaceKeys.contains(key) {
                error(item.mapping!.first { $0.key.string == key }!.key, context,
                      "\(what) gives '\(key)' without an override for it (add '\(key): append' or '\(key): replace' to 'override')")
                return nil
            }
        }
        return .override(append: appendKeys, replace: replaceKeys)
    }

    // MARK: - Helpers

    private mutating func checkKeys(_ item: Node, allowed: Set<String>, what: String, _ context: FileContext) -> Bool {
        guard case .mapping(let mapping) = item else { return false }
        for (key, _) in mapping {
            guard let name = key.string, allowed.contains(name) else {
                warning(key, context, "\(what) has unknown key '\(key.string ?? "?")', ignored")
                continue
            }
        }
        return true
    }

    private mutating func requiredString(_ item: Node, _ key: String, _ context: FileContext) -> String? {
        guard let node = item[key], let value = node.string, !value.isEmpty, node.scalar != nil else {
            error(item[key] ?? item, context, "'\(key)' must be a non-empty name")
            return nil
        }
        return value
    }

    private mutating func conditionText(_ item: Node, _ key: String, _ context: FileContext, what: String) -> ConditionText? {
        guard let node = item[key], let scalar = node.scalar else {
            error(item[key] ?? item, context, "\(what) has no '\(key)' text")
            return nil
        }
        let locator = TextLocator(file: context.file, mark: scalar.mark, style: scalar.style, sourceLines: context.lines)
        // Leading whitespace is dropped by trimming; keep the locator in step by counting it.
        let raw = scalar.string
        let leading = raw.prefix { $0 == " " || $0 == "\n" || $0 == "\t" }.utf8.count
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            error(node, context, "\(what) has an empty \(key)")
            return nil
        }
        return ConditionText(trimmed, locator: locator.shifted(by: leading))
    }

    private func location(_ node: Node, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    private mutating func error(_ node: Node, _ context: FileContext, _ message: String) {
        errors.append(RuleDiagnostic(.error, location(node, context.file), message))
    }

    private mutating func warning(_ node: Node, _ context: FileContext, _ message: String) {
        definitions.warnings.append(RuleDiagnostic(.warning, location(node, context.file), message))
    }

    static func diagnostic(for error: YamlError, file: String) -> RuleDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return RuleDiagnostic(.error, SourceLocation(file: file, line: mark.line, column: mark.column),
                                  "invalid YAML: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return RuleDiagnostic(.error, SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                                  "invalid YAML: duplicated keys \(duplicates.joined(separator: ", "))")
        default:
            return RuleDiagnostic(.error, SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }
}
