import Foundation
import Outputs
import Rules
import TestSupport

/// Real alerts for output tests: Falco's upstream rules evaluated on an audit event of a shell
/// opened in a pod (Falco's "Attach/Exec Pod"), as the engine would publish it.
enum AlertFixtures {
    static let ruleSet: RuleSet = {
        do {
            return try RuleSet.load(files: [RepositoryPaths.falcoRules])
        } catch {
            fatalError("Falco's rules do not load from \(RepositoryPaths.falcoRules): \(error)")
        }
    }()

    /// An `kubectl exec` into shop/web-1 by alice, at `time`.
    static func execEvent(auditID: String, time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = formatter.string(from: time)
        return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"\#(auditID)","#
            + #""stage":"ResponseStarted","requestURI":"/api/v1/namespaces/shop/pods/web-1/exec?command=sh&container=app&stdin=true&tty=true","#
            + #""verb":"create","user":{"username":"alice@example.com","groups":["system:authenticated"]},"#
            + #""sourceIPs":["10.0.0.7"],"objectRef":{"resource":"pods","namespace":"shop","name":"web-1","apiVersion":"v1","subresource":"exec"},"#
            + #""responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"\#(stamp)","stageTimestamp":"\#(stamp)"}"#
    }

    /// The exec alert, at `priority` (the rule's own is Notice), with `customFields` added by the
    /// sink's own enricher, as the delivery policy adds an output's `custom_fields`.
    static func exec(priority: Priority = .notice, customFields: [String: String] = [:], time: Date = Date(),
                     auditID: String = "a1b2c3d4-0000-4000-8000-000000000001") throws -> OutputAlert {
        let evaluator = ruleSet.makeEvaluator(hostname: "sink-0")
        let alerts = try evaluator.evaluate(Array(execEvent(auditID: auditID, time: time).utf8), cluster: "prod-eu",
                                            origin: Alert.Origin(topic: "k8s-audit.raw", partition: 3, offset: 42))
        guard var alert = alerts.first(where: { $0.rule == "Attach/Exec Pod" }) else {
            fatalError("Falco's Attach/Exec Pod rule did not fire on the exec event: \(alerts.map(\.rule))")
        }
        alert.priority = priority
        let published = OutputAlert(json: Array(AlertEncoder.json(alert).utf8), alert: alert, key: Array("prod-eu".utf8))
        return try AlertEnricher(customFields: customFields, templatedFields: [:]).apply(published)
    }
}
