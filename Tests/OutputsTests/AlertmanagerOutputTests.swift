import AuditModel
import Foundation
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// The Alertmanager output against a real Alertmanager (Debian's `prometheus-alertmanager`),
/// read back through its v2 API, and against a receiver that checks the v2 API's schema.
@Suite struct AlertmanagerOutputTests {
    static func startAlertmanager() async throws -> HTTPServerProcess {
        try await HTTPServerProcess.start("prometheus-alertmanager", readinessPath: "/-/ready") { port, directory in
            let configuration = try directory.write("alertmanager.yml", """
                route:
                  receiver: nowhere
                receivers:
                  - name: nowhere
                """)
            return ["--config.file=\(configuration)", "--storage.path=\(directory.path)/data",
                    "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn"]
        }
    }

    /// `POST /api/v2/alerts` with a JSON array of `postableAlert` (labels, annotations, startsAt,
    /// endsAt, generatorURL) as Alertmanager's OpenAPI document defines it.
    static func validator(path: String = "/api/v2/alerts", authorization: String? = nil) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", path)
            check.jsonContentType()
            if let authorization { check.header("Authorization", equals: authorization) }
            guard let items = (try? request.json())?.array, !items.isEmpty else {
                check.fail("body is not a non-empty JSON array of alerts")
                return check.verdict
            }
            for (index, item) in items.enumerated() {
                let path = "$[\(index)]"
                guard let alert = check.object(item, at: path, required: ["labels", "startsAt"],
                                               optional: ["annotations", "endsAt", "generatorURL"]) else { continue }
                for key in ["labels", "annotations"] {
                    for (name, value) in alert[key]?.object ?? [:] {
                        if key == "labels", !AlertLabels.isValidName(name) { check.fail("\(path).labels: '\(name)' is not a label name") }
                        if value.string == nil { check.fail("\(path).\(key).\(name) is \(value.kind), expected a string") }
                    }
                }
                for key in ["startsAt", "endsAt"] {
                    if let text = check.string(alert, key, at: path), Timestamp.parse(text) == nil {
                        check.fail("\(path).\(key) '\(text)' is not an RFC 3339 date-time")
                    }
                }
                check.string(alert, "generatorURL", at: path)
            }
            return check.verdict
        }
    }

    @Test func alertsReachARealAlertmanagerWithTheirLabelsAnnotationsAndTimes() async throws {
        let server = try await Self.startAlertmanager()
        let harness = try PolicyHarness()
        let alerts = ObservabilityHarness.recentAlerts(6)
        #expect(try await ObservabilityHarness.deliver(alerts, through: """
            type: alertmanager
            url: \(server.baseURL)
            custom_fields: {env: prod}
            expires_after: 1h
            generator_url: https://grafana.example.com/d/k8s-audit
            extra_labels: {team: security}
            extra_annotations: {runbook: https://wiki.example.com/k8s-audit}
            severity_map: {notice: page}
            """, harness: harness) == alerts.count)
        #expect(harness.counter("delivered", output: "test") == Int64(alerts.count))

        let listed = try await TestHTTPClient.request("GET", server.baseURL + "/api/v2/alerts").json().array ?? []
        #expect(listed.count == alerts.count)
        for alert in alerts {
            let found = listed.first { $0["labels"]?["ka_target_name"]?.string == alert.outputField("ka.target.name").flatMap(AlertLabels.value) }
            let labels = try #require(found?["labels"]?.object, "alert \(alert.id) is listed")
            let text = labels.compactMapValues(\.string)
            #expect(text["alertname"] == alert.rule)
            #expect(text["rule"] == alert.rule)
            #expect(text["priority"] == alert.priority.name)
            #expect(text["severity"] == (alert.priority == .notice ? "page" : ["Critical": "critical", "Error": "warning",
                                                                              "Warning": "warning", "Informational": "information"][alert.priority.name]))
            #expect(text["source"] == "falco")
            #expect(text["eventsource"] == "k8s_audit")
            #expect(text["cluster"] == alert.cluster)
            #expect(text["tags"] == alert.tags.sorted().joined(separator: ","))
            #expect(text["env"] == "prod", "the custom field is a label")
            #expect(text["team"] == "security")
            #expect(text["ka_user_name"] == "alice")
            #expect(text["evt_time"] == alert.outputField("evt.time").flatMap(AlertLabels.value), "a number field as a label")
            #expect(text["hostname"] == nil, "the engine's hostname is not part of an alert's identity")
            let annotations = found?["annotations"]?.object?.compactMapValues(\.string) ?? [:]
            #expect(annotations == ["info": alert.output, "description": alert.output, "summary": alert.rule,
                                    "runbook": "https://wiki.example.com/k8s-audit"])
            #expect(found?["generatorURL"]?.string == "https://grafana.example.com/d/k8s-audit")
            // Alertmanager answers in milliseconds.
            let startsAt = try #require(found?["startsAt"]?.string.flatMap(Timestamp.parse))
            let endsAt = try #require(found?["endsAt"]?.string.flatMap(Timestamp.parse))
            #expect(abs(startsAt - alert.time) < 1_000_000)
            #expect(abs(endsAt - startsAt - 3_600_000_000_000) < 1_000_000)
            #expect(found?["status"]?["state"]?.string == "active")
        }
        await server.stop()
    }

    @Test func aReplayedAlertIsTheSameAlertToAlertmanager() async throws {
        let server = try await Self.startAlertmanager()
        let output = try ObservabilityHarness.output("type: alertmanager\nurl: \(server.baseURL)\nexpires_after: 10m")
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(3))
        try await output.deliver(alerts)
        // The same alerts again, as the engine's at-least-once delivery may replay them (another engine's hostname).
        try await output.deliver(try ObservabilityHarness.handedOver(alerts.map {
            var replayed = $0.alert
            replayed.hostname = "engine-1"
            return replayed
        }))
        await output.shutdown()
        let listed = try await TestHTTPClient.request("GET", server.baseURL + "/api/v2/alerts").json().array ?? []
        #expect(listed.count == 3)
        await server.stop()
    }

    @Test func aBatchIsOneRequestOfPostableAlertsWithCredentials() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator(path: "/prefix/api/v2/alerts", authorization: "Bearer am-t0k3n"))
        let output = try ObservabilityHarness.output("type: alertmanager\nurl: \(receiver.baseURL)/prefix/\nbearer_token: am-t0k3n")
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(8) + [{
            var odd = SampleAlerts.alert(99)
            odd.outputFields = [("ka.req.pod.containers.image[0]", .string("nginx")), ("1st.field", .integer(7)),
                                ("ka.user.groups", .list(["system:masters", "dev"])), ("ka.missing", .null), ("...", .string("x"))]
            return odd
        }()])
        try await output.deliver(alerts)
        await output.shutdown()
        #expect(receiver.rejections.map(\.reason) == [])
        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        #expect(request.path == "/prefix/api/v2/alerts", "a path prefix in the URL is kept")
        let posted = try request.json().array ?? []
        #expect(posted.count == 9)
        let labels = posted.last?["labels"]?.object?.compactMapValues(\.string) ?? [:]
        #expect(labels["ka_req_pod_containers_image_0"] == "nginx")
        #expect(labels["_1st_field"] == "7")
        #expect(labels["ka_user_groups"] == "system:masters,dev")
        #expect(labels["ka_missing"] == nil)
        #expect(posted.last?["endsAt"] == nil, "without expires_after Alertmanager's resolve_timeout applies")
    }

    @Test func settingsAreCheckedWhereTheyAreWritten() {
        let base = "name: am\ntype: alertmanager\nurl: http://am:9093\n"
        #expect(ObservabilityHarness.configurationError(base + "extra_labels: {bad-name: x}\n")?
            .contains("outputs.yaml:4:") == true)
        #expect(ObservabilityHarness.configurationError(base + "severity_map: {urgent: page}\n")?.contains("unknown priority 'urgent'") == true)
        #expect(ObservabilityHarness.configurationError(base + "expires_after: soon\n")?.contains("outputs.yaml:4:") == true)
        #expect(ObservabilityHarness.configurationError("name: am\ntype: alertmanager\n")?.contains("missing required key 'url'") == true)
    }
}
