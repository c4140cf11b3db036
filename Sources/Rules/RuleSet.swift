import AuditModel
import Foundation

/// Falco's `rule_matching`: stop at the first matching rule (Falco's default) or report every match.
public enum RuleMatching: String, Sendable, CaseIterable {
    case first, all
}

/// Rules loaded from files, compiled and indexed: immutable and shared by
/// every worker; each worker evaluates through its own `RuleEvaluator`.
public final class RuleSet: Sendable {
    public struct Statistics: Sendable, Equatable {
        public var rules: Int
        public var disabledRules: Int
        public var macros: Int
        public var lists: Int
        /// Rules skipped because they belong to another source, by source.
        public var skipped: [String: Int]
    }

    public let statistics: Statistics
    public let warnings: [RuleDiagnostic]
    /// A hash of the rules files' contents: alerts say which rules produced them.
    public let version: String
    public let matching: RuleMatching
    let rules: [CompiledRule]
    let index: RuleIndex
    let catalog: FieldCatalog

    /// Loads, validates and compiles rules files in order. Throws `RulesLoadError` with every problem found.
    public static func load(files: [String], matching: RuleMatching = .first,
                            minimumPriority: Priority = .debug) throws -> RuleSet {
        let definitions = try RulesLoader.load(files: files)
        var hasher = FNV64()
        for file in files {
            hasher.add(Array(file.utf8))
            hasher.add((try? Data(contentsOf: URL(fileURLWithPath: file))).map(Array.init) ?? [])
        }
        return try RuleSet(definitions: definitions, version: hasher.hex, matching: matching,
                           minimumPriority: minimumPriority)
    }

    /// Compiles definitions already loaded (tests build them from YAML text).
    public init(definitions: RuleSetDefinition, version: String, matching: RuleMatching = .first,
                minimumPriority: Priority = .debug) throws {
        let catalog = FieldCatalog()
        var compiler = RuleCompiler(definitions: definitions, catalog: catalog)
        let compiled = try compiler.compile().filter { $0.priority <= minimumPriority }
        rules = compiled
        index = try RuleIndex(rules: compiled, catalog: catalog)
        self.catalog = catalog
        self.version = version
        self.matching = matching
        warnings = definitions.warnings + compiler.warnings
        statistics = Statistics(
            rules: compiled.count, disabledRules: definitions.rules.filter { !$0.enabled }.count,
            macros: definitions.macros.count, lists: definitions.lists.count, skipped: definitions.skippedRules)
    }

    /// Loads rules from YAML text, as if from a file with that name.
    public static func parse(yaml: String, file: String = "rules.yaml", matching: RuleMatching = .first) throws -> RuleSet {
        var loader = RulesLoader()
        loader.load(yaml: yaml, file: file)
        let definitions = try loader.finish()
        var hasher = FNV64()
        hasher.add(Array(yaml.utf8))
        return try RuleSet(definitions: definitions, version: hasher.hex, matching: matching)
    }

    public var ruleNames: [String] { rules.map(\.name) }

    /// A new evaluator with its own parser and buffers, for one thread.
    public func makeEvaluator(hostname: String = RuleSet.defaultHostname) -> RuleEvaluator {
        RuleEvaluator(ruleSet: self, hostname: hostname)
    }

    public static let defaultHostname: String = ProcessInfo.processInfo.hostName
}

/// 64-bit FNV-1a over bytes, as hex: the rules version.
struct FNV64 {
    private var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
        value = (value ^ 0xff) &* 0x100_0000_01b3
    }

    var hex: String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
