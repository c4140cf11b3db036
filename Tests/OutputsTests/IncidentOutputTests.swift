import Foundation
import Outputs
import Rules
import TestSupport
import Testing

/// Datadog events and Opsgenie alerts: fields, severities, de-duplication keys and endpoints
/// as each API documents them.
@Suite struct IncidentOutputTests {
    static func service(_ type: String) -> ServiceUnderTest { ServiceUnderTest.all.first { $0.type == type }! }

    static func send(_ alert: OutputAlert, type: String, extra: String = "") async throws -> ReceivedRequest {
        let (receiver, output) = try await OutputHarness.start(service(type), reply: ScriptedReply(status: 202), extra: extra)
        let request = try await OutputHarness.deliverOne(alert, to: output, at: receiver)
        await output.shutdown()
        #expect(receiver.rejections.map(\.reason) == [])
        return request
    }

    @Test func datadogEventCarriesTitleTextTagsHostAndAggregationKey() async throws {
        let alert = try AlertFixtures.exec(priority: .critical, customFields: ["environment": "production-eu"])
        let request = try await Self.send(alert, type: "datadog")
        #expect(request.header("DD-API-KEY") == ServiceUnderTest.datadogKey)
        let event = try request.json()
        #expect(event["title"] == .string("Critical: Attach/Exec Pod (prod-eu)"))
        #expect(event["text"]?.string?.hasPrefix(alert.alert.output) == true)
        #expect(event["alert_type"] == .string("error"))
        #expect(event["host"] == .string("sink-0"))
        #expect(event["aggregation_key"] == .string(alert.alert.id))
        #expect(event["date_happened"] == .number(Double(alert.alert.time / 1_000_000_000)))
        let tags = (event["tags"]?.array ?? []).compactMap(\.string)
        for tag in ["source:k8s_audit", "priority:critical", "rule:attach/exec_pod", "cluster:prod-eu", "k8s",
                    "environment:production-eu", "ka.user.name:alice_example.com", "ka.target.namespace:shop"] {
            #expect(tags.contains(tag), "\(tag) in \(tags)")
        }
    }

    @Test(arguments: [(Priority.emergency, "error"), (.error, "error"), (.warning, "warning"), (.notice, "info"), (.debug, "info")])
    func datadogAlertTypeFollowsThePriority(priority: Priority, alertType: String) async throws {
        let event = try await Self.send(try AlertFixtures.exec(priority: priority), type: "datadog").json()
        #expect(event["alert_type"] == .string(alertType))
    }

    @Test func datadogTakesAnAlertOlderThanItsWindowWithoutItsDate() async throws {
        let old = try AlertFixtures.exec(time: Date().addingTimeInterval(-2 * 86400))
        let event = try await Self.send(old, type: "datadog", extra: "").json()
        #expect(event["date_happened"] == nil, "Datadog refuses dates older than 18 hours")
        #expect(event["text"]?.string?.contains(AlertPresentation.time(old.alert)) == true, "the alert's time stays in the text")
    }

    @Test func datadogHostCanBeSet() async throws {
        let event = try await Self.send(try AlertFixtures.exec(), type: "datadog", extra: "host: k8s-audit").json()
        #expect(event["host"] == .string("k8s-audit"))
    }

    @Test func datadogSitesChooseTheEndpoint() throws {
        func endpoint(_ keys: String) throws -> String {
            try OutputHarness.configuration("name: dd\ntype: datadog\napi_key: k\n" + keys, as: DatadogOutput.Configuration.self)
                .endpoint.text
        }
        #expect(try endpoint("") == "https://api.datadoghq.com/api/v1/events")
        #expect(try endpoint("site: datadoghq.eu") == "https://api.datadoghq.eu/api/v1/events")
        #expect(try endpoint("site: us5.datadoghq.com") == "https://api.us5.datadoghq.com/api/v1/events")
        #expect(try endpoint("api_url: https://proxy.internal:8443") == "https://proxy.internal:8443/api/v1/events")
        #expect { try endpoint("site: datadoghq.eu\napi_url: https://proxy.internal") } throws: { "\($0)".contains("set site or api_url, not both") }
        #expect { try OutputHarness.definition("name: dd\ntype: datadog\nsite: datadoghq.eu") } throws: { "\($0)".contains("api_key") }
    }

    @Test func opsgenieAlertIsKeyedByTheAlertIdWithDetailsAndTags() async throws {
        let alert = try AlertFixtures.exec(priority: .critical, customFields: ["environment": "production-eu"])
        let request = try await Self.send(alert, type: "opsgenie")
        #expect(request.header("Authorization") == "GenieKey \(ServiceUnderTest.opsgenieKey)")
        let body = try request.json()
        #expect(body["message"] == .string("Critical: Attach/Exec Pod (prod-eu)"))
        #expect(body["alias"] == .string(alert.alert.id), "replays of the same alert de-duplicate in Opsgenie")
        #expect(body["description"] == .string(alert.alert.output))
        #expect(body["priority"] == .string("P2"))
        #expect(body["entity"] == .string("prod-eu"))
        #expect(body["source"] == .string("auditpipe"))
        #expect(body["tags"] == .array([.string("k8s")]))
        #expect(body["details"]?["environment"] == .string("production-eu"))
        #expect(body["details"]?["ka_user_name"] == .string("alice@example.com"))
        #expect(body["details"]?["rule"] == .string("Attach/Exec Pod"))
    }

    @Test(arguments: zip(Priority.allCases, ["P1", "P1", "P2", "P3", "P4", "P5", "P5", "P5"]))
    func opsgeniePriorityFollowsFalcos(priority: Priority, expected: String) async throws {
        let body = try await Self.send(try AlertFixtures.exec(priority: priority), type: "opsgenie").json()
        #expect(body["priority"] == .string(expected))
    }

    @Test func opsgenieKeepsWithinItsLimits() async throws {
        var alert = try AlertFixtures.exec(customFields: Dictionary(uniqueKeysWithValues: (0..<40).map {
            ("field\($0)", String(repeating: "v", count: 400))
        }))
        alert = OutputAlert(json: alert.json, alert: {
            var long = alert.alert
            long.rule = String(repeating: "Suspicious activity ", count: 10)
            long.tags = (0..<30).map { "tag-\($0)-" + String(repeating: "x", count: 60) }
            return long
        }(), key: alert.key)
        let body = try await Self.send(alert, type: "opsgenie").json()
        #expect(body["message"]?.string?.count == 130)
        #expect(body["tags"]?.array?.count == 20)
    }

    @Test func opsgenieRegionsChooseTheEndpoint() throws {
        func endpoint(_ keys: String) throws -> String {
            try OutputHarness.configuration("name: og\ntype: opsgenie\napi_key: k\n" + keys, as: OpsgenieOutput.Configuration.self)
                .endpoint.text
        }
        #expect(try endpoint("") == "https://api.opsgenie.com/v2/alerts")
        #expect(try endpoint("region: eu") == "https://api.eu.opsgenie.com/v2/alerts")
        #expect(try endpoint("api_url: http://127.0.0.1:9") == "http://127.0.0.1:9/v2/alerts")
        #expect { try endpoint("region: asia") } throws: { "\($0)".contains("outputs.yaml:4:") }
    }
}
