import Foundation
import Outputs
import Rules
import Settings
import TestSupport

/// What the tests of the batch outputs (Alertmanager, Elasticsearch, Loki, InfluxDB) share:
/// outputs built from YAML as the sink builds them, and recent alerts as the sink hands them over.
enum ObservabilityHarness {
    /// The output of one entry; `name: test` and a generous timeout (the machine is shared) come first.
    static func output(_ yaml: String, timeout: String = "30s") throws -> any AlertOutput {
        try OutputHarness.definition("name: test\ntimeout: \(timeout)\n" + yaml).makeOutput(context: OutputTestSupport.context)
    }

    /// Delivers `alerts` through the delivery policy the sink runs the output of one entry under
    /// (the entry's common settings, custom fields and all, with quick retries); returns how many
    /// alerts the policy finished (delivered or dead-lettered). The output is shut down after.
    static func deliver(_ alerts: [Alert], through yaml: String, harness: PolicyHarness) async throws -> Int {
        let definition = try OutputHarness.definition("name: test\ntimeout: 30s\n" + yaml)
        var settings = definition.common
        settings.retry.initialBackoff = ConfigDuration(.milliseconds(10))
        settings.retry.maxBackoff = ConfigDuration(.milliseconds(50))
        let output = try definition.makeOutput(context: OutputTestSupport.context)
        let policy: DeliveryPolicy
        do {
            policy = try harness.policy(output, settings)
        } catch {
            await output.shutdown()
            throw error
        }
        let finished = await policy.process(PolicyHarness.items(alerts))
        await output.shutdown()
        return finished
    }

    /// The configuration error of an entry, as the user sees it (`outputs.yaml:LINE:COL: message`).
    static func configurationError(_ yaml: String) -> String? {
        do {
            _ = try OutputHarness.definition(yaml)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// `count` sample alerts that fired just now (services drop or expire old ones), a millisecond apart.
    static func recentAlerts(_ count: Int, from first: Int = 0, at time: Date = Date()) -> [Alert] {
        let start = Int64(time.timeIntervalSince1970 * 1000) * 1_000_000
        return (first..<(first + count)).map { index in
            var alert = SampleAlerts.alert(index)
            alert.time = start + Int64(index - first) * 1_000_000
            return alert
        }
    }

    /// Alerts as the sink hands them to an output: its custom fields already added.
    static func handedOver(_ alerts: [Alert], customFields: [String: String] = [:]) throws -> [OutputAlert] {
        let enricher = try AlertEnricher(customFields: customFields, templatedFields: [:])
        return alerts.map {
            enricher.apply(OutputAlert(json: Array(AlertEncoder.json($0).utf8), alert: $0, key: Array($0.cluster.utf8)))
        }
    }
}
