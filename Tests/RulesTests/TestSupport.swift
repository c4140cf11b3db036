import AuditModel
import Foundation
@testable import Rules

/// Helpers shared by the rules tests: locating shared reference data and building events.
enum TestSupport {
    /// The package root (…/main), from this file's path.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Falco's upstream rules, read from ../shared (never copied into the project).
    static let falcoRulesPath = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/falco/k8s_audit_rules.yaml").path

    static let projectRulesDirectory = packageRoot.appendingPathComponent("rules")

    /// Evaluates one event (JSON text) and returns the alerts.
    static func alerts(_ ruleSet: RuleSet, _ event: String, cluster: String = "") throws -> [Alert] {
        let evaluator = ruleSet.makeEvaluator(hostname: "test-host")
        return try evaluator.evaluate(Array(event.utf8), cluster: cluster)
    }

    /// Names of the rules that fire on an event.
    static func firing(_ ruleSet: RuleSet, _ event: String) throws -> [String] {
        try alerts(ruleSet, event).map(\.rule)
    }
}
