import Foundation
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// The Loki output against a receiver that checks pushes as Loki's push API documents them.
@Suite struct LokiOutputTests {
    /// `POST /loki/api/v1/push`, JSON `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"]]}]}`:
    /// at least one label per stream, Prometheus label names, nanosecond timestamps as strings of digits.
    static func validator(tenant: String? = nil, authorization: String? = nil) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", "/loki/api/v1/push")
            if let tenant { check.header("X-Scope-OrgID", equals: tenant) }
            if let authorization { check.header("Authorization", equals: authorization) }
            guard let body = check.jsonObject(required: ["streams"]) else { return check.verdict }
            check.array(body, "streams", at: "$") { check, stream, path in
                guard let members = check.object(stream, at: path, required: ["stream", "values"]) else { return }
                let labels = members["stream"]?.object ?? [:]
                if labels.isEmpty { check.fail("\(path).stream has no label") }
                for (name, value) in labels {
                    if !AlertLabels.isValidName(name) { check.fail("\(path).stream: '\(name)' is not a label name") }
                    if value.string?.isEmpty != false { check.fail("\(path).stream.\(name) is not a non-empty string") }
                }
                check.array(members, "values", at: path) { check, entry, entryPath in
                    guard let pair = entry.array, pair.count == 2, let time = pair[0].string, pair[1].string != nil else {
                        return check.fail("\(entryPath) is not [\"<ns timestamp>\", \"<line>\"]")
                    }
                    if time.count < 19 || !time.allSatisfy({ $0.isASCII && $0.isNumber }) { check.fail("\(entryPath)[0] '\(time)' is not a timestamp in ns") }
                }
            }
            return check.verdict
        }
    }

    /// The pushed streams: labels and their [timestamp, line] pairs.
    static func streams(_ request: ReceivedRequest) throws -> [(labels: [String: String], values: [[String]])] {
        try (request.json()["streams"]?.array ?? []).map { stream in
            (stream["stream"]?.object?.compactMapValues(\.string) ?? [:],
             (stream["values"]?.array ?? []).map { $0.array?.compactMap(\.string) ?? [] })
        }
    }

    @Test func alertsArePushedInStreamsLabelledByPriorityRuleClusterAndCustomFields() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator(tenant: "security"), reply: ScriptedReply(status: 204))
        let harness = try PolicyHarness()
        let alerts = ObservabilityHarness.recentAlerts(12)
        #expect(try await ObservabilityHarness.deliver(alerts, through: """
            type: loki
            url: \(receiver.baseURL)
            custom_fields: {env: prod}
            tenant: security
            extra_labels: [ka.target.namespace]
            """, harness: harness) == alerts.count)
        #expect(receiver.rejections.map(\.reason) == [])
        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        let streams = try Self.streams(request)
        #expect(streams.reduce(0) { $0 + $1.values.count } == alerts.count)
        #expect(Set(streams.map(\.labels)).count == streams.count, "one stream per label set")
        for alert in alerts {
            let labels = ["priority": alert.priority.name, "rule": alert.rule, "source": "k8s_audit", "cluster": alert.cluster,
                          "tags": alert.tags.sorted().joined(separator: ","), "env": "prod", "ka_target_namespace": "web"]
            let stream = streams.first { $0.labels == labels }
            #expect(stream?.values.contains([String(alert.time), alert.output]) == true, "\(alert.id) in the stream \(labels)")
        }
    }

    @Test func linesCanBeTheAlertJSONAndAreInTimeOrderWithinAStream() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator(authorization: "Bearer l0k1"), reply: ScriptedReply(status: 204))
        let output = try ObservabilityHarness.output("type: loki\nurl: \(receiver.baseURL)\nformat: json\nbearer_token: l0k1")
        // One rule, cluster and priority; handed over newest first.
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(4).map {
            var alert = $0
            alert.rule = "Pod exec"
            alert.cluster = "prod-eu"
            alert.priority = .warning
            alert.tags = ["k8s"]
            return alert
        }.reversed())
        let failure = await OutputTestSupport.failure { try await output.deliver(alerts) }
        await output.shutdown()
        #expect(failure == nil)
        #expect(receiver.rejections.map(\.reason) == [])
        let streams = try Self.streams(try #require(receiver.requests.first))
        #expect(streams.count == 1)
        let values = streams.first?.values ?? []
        #expect(values.map { $0[0] } == alerts.map { String($0.alert.time) }.reversed())
        #expect(try values.map { try JSONValue(parsing: Array($0[1].utf8))["id"]?.string } == alerts.map(\.alert.id).reversed())
    }

    @Test func settingsAreCheckedWhereTheyAreWritten() {
        let base = "name: loki\ntype: loki\nurl: http://loki:3100\n"
        #expect(ObservabilityHarness.configurationError(base + "extra_labels: [\"...\"]\n")?.contains("outputs.yaml:4:") == true)
        #expect(ObservabilityHarness.configurationError(base + "tenant: \"\"\n")?.contains("tenant must be") == true)
        #expect(ObservabilityHarness.configurationError(base + "format: xml\n")?.contains("outputs.yaml:4:") == true)
    }
}
