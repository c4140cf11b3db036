import Foundation
@testable import Outputs
import Rules
import Settings
import TestSupport

/// Outputs built the way the sink builds them: from a YAML mapping of `sink.outputs`.
enum OutputFixtures {
    static func definition(_ yaml: String) throws -> OutputDefinition {
        try ConfigDecoder.decode(OutputDefinition.self, yaml: yaml, file: "outputs.yaml")
    }

    static func make(_ yaml: String) throws -> any AlertOutput {
        try definition(yaml).makeOutput(context: OutputTestSupport.context)
    }

    /// The configuration errors of `yaml`, as the user sees them (FILE:LINE:COL: message).
    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try definition(yaml)
            return []
        } catch let errors as ConfigErrors {
            return errors.errors.map(\.description)
        } catch {
            return ["unexpected: \(error)"]
        }
    }
}

/// Alerts as the sink hands them to outputs: TestSupport's sample alerts, varied, with the
/// output's custom fields added by the sink's own `AlertEnricher` (the sink applies them
/// before an output sees an alert).
enum OutputAlerts {
    static func alert(_ index: Int = 0, rule: String = "Pod exec", priority: Priority = .notice, output: String? = nil,
                      cluster: String = "prod-eu", customFields: [String: String] = [:]) -> OutputAlert {
        var alert = SampleAlerts.alert(index, priority: priority, cluster: cluster)
        alert.rule = rule
        if let output { alert.output = output }
        let engineJSON = OutputAlert(json: Array(AlertEncoder.json(alert).utf8), alert: alert, key: Array(cluster.utf8))
        return try! AlertEnricher(customFields: customFields, templatedFields: [:]).apply(engineJSON)
    }

    /// Distinct alerts (ids differ), for batches.
    static func batch(_ count: Int, priority: Priority = .warning) -> [OutputAlert] {
        (0..<count).map { alert($0 + 1, priority: priority, output: "alert number \($0)") }
    }
}

extension DeliveryFailure.Kind {
    var isTransient: Bool {
        if case .transient = self { return true }
        return false
    }
}
