import AuditModel
import Testing
@testable import Rules

/// Alerts back from their JSON: what AlertEncoder writes decodes to the same alert, and what is not
/// an alert is refused with a reason that says why.
@Suite struct AlertDecoderTests {
    /// output_fields come back in the encoder's order (sorted by name); everything else is unchanged.
    static func sortedFields(_ alert: Alert) -> Alert {
        var copy = alert
        copy.outputFields.sort { $0.0 < $1.0 }
        return copy
    }

    @Test func alertsFromFalcosRulesRoundTrip() throws {
        let ruleSet = try UpstreamRules.all()
        let events = [Events.privilegedPod, Events.sensitiveMountPod, Events.exec, Events.anonymous, Events.ephemeral,
                      Events.nodePortService, Events.configMap("create", data: #"{"aws_access_key_id":"AKIA"}"#)]
        var alerts: [Alert] = []
        for event in events {
            alerts += try TestSupport.alerts(ruleSet, event.json, cluster: "prod-eu")
        }
        #expect(alerts.count >= events.count)
        let decoder = AlertDecoder()
        for (index, var alert) in alerts.enumerated() {
            alert.origin = index.isMultiple(of: 2) ? Alert.Origin(topic: "k8s-audit.raw", partition: 7, offset: 123_456 + Int64(index)) : nil
            let json = AlertEncoder.json(alert)
            let decoded = try decoder.decode(Array(json.utf8))
            #expect(decoded == Self.sortedFields(alert), "\(alert.rule)")
            #expect(AlertEncoder.json(decoded) == json)
        }
    }

    @Test func everyValueKindAndEscapeRoundTrips() throws {
        let alert = Alert(
            time: 1_795_687_200_500_000_001, rule: "Tricky \"rule\" \\ with\ttabs", priority: .informational,
            output: "line one\nline two é 日本 \u{1}", outputFields: [
                ("evt.time", .integer(1_795_687_200_500_000_001)), ("ka.user.name", .string("alice \"the\" admin")),
                ("ka.req.pod.containers.image", .list(["nginx:1.25", "busybox"])), ("ka.target.name", .null),
                ("ka.empty.list", .list([])), ("negative", .integer(-42)),
            ],
            source: "k8s_audit", tags: ["k8s", "mitre_execution"], hostname: "node-1", cluster: "c/1", auditID: "a-1",
            id: "0123456789abcdef0123456789abcdef", origin: Alert.Origin(topic: "k8s-audit.raw", partition: 0, offset: 0))
        let json = AlertEncoder.json(alert)
        let decoded = try AlertDecoder().decode(Array(json.utf8))
        #expect(decoded == Self.sortedFields(alert))
        #expect(AlertEncoder.json(decoded) == json)
    }

    @Test func falcoShapedJSONWithoutClusterAuditIDOrOriginDecodes() throws {
        let falco = #"{"hostname":"falco-0","output":"10:00:00.000000000: Warning x","output_fields":{"ka.verb":"get"},"priority":"Warning","rule":"R","source":"k8s_audit","tags":[],"time":"2026-11-26T10:00:00.000000000Z","id":"x1"}"#
        let alert = try AlertDecoder().decode(Array(falco.utf8))
        #expect(alert.rule == "R")
        #expect(alert.priority == .warning)
        #expect(alert.cluster == "")
        #expect(alert.origin == nil)
        #expect(alert.outputField("ka.verb") == .string("get"))
        #expect(alert.time == Timestamp.parse("2026-11-26T10:00:00Z"))
    }

    @Test(arguments: [
        ("not json at all", "not JSON"),
        ("[1,2]", "not an alert: the JSON is a list, not an object"),
        (#"{"rule":"R","priority":"Warning","output":"o","id":"i"}"#, "not an alert: 'time' is missing"),
        (#"{"time":"yesterday","rule":"R","priority":"Warning","output":"o","id":"i"}"#,
         "not an alert: 'time' is 'yesterday', not an RFC 3339 timestamp"),
        (#"{"time":"2026-11-26T10:00:00Z","rule":"R","priority":"Loud","output":"o","id":"i"}"#,
         "not an alert: unknown priority 'Loud'"),
        (#"{"time":"2026-11-26T10:00:00Z","rule":7,"priority":"Warning","output":"o","id":"i"}"#,
         "not an alert: 'rule' is a number, not a string"),
        (#"{"time":"2026-11-26T10:00:00Z","rule":"R","priority":"Warning","output":"o"}"#, "not an alert: 'id' is missing"),
        (#"{"time":"2026-11-26T10:00:00Z","rule":"R","priority":"Warning","output":"o","id":"i","tags":"k8s"}"#,
         "not an alert: 'tags' is a string, not a list"),
        (#"{"time":"2026-11-26T10:00:00Z","rule":"R","priority":"Warning","output":"o","id":"i","output_fields":{"a":{"b":1}}}"#,
         "not an alert: output field 'a' is an object"),
        (#"{"time":"2026-11-26T10:00:00Z","rule":"R","priority":"Warning","output":"o","id":"i","origin":{"topic":"t"}}"#,
         "not an alert: 'origin' needs topic (string), partition and offset (integers)"),
    ])
    func whatIsNotAnAlertIsRefusedWithTheReason(_ input: String, _ reason: String) {
        #expect(throws: AlertDecodingError.self) { try AlertDecoder().decode(Array(input.utf8)) }
        do {
            _ = try AlertDecoder().decode(Array(input.utf8))
        } catch {
            #expect(error.reason.hasPrefix(reason), "\(error.reason)")
        }
    }

    @Test func oneDecoderDecodesManyAlertsInTurn() throws {
        let decoder = AlertDecoder()
        for index in 0..<100 {
            let alert = Alert(time: Int64(index) * 1_000_000_000, rule: "r\(index)", priority: .warning, output: "o",
                              outputFields: [("n", .integer(Int64(index)))], source: "k8s_audit", tags: [], hostname: "h",
                              cluster: "c", auditID: "a\(index)", id: "id\(index)", origin: nil)
            #expect(try decoder.decode(Array(AlertEncoder.json(alert).utf8)) == alert)
        }
    }
}
