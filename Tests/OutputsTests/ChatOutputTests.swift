import Foundation
import Outputs
import Rules
import TestSupport
import Testing

/// Slack, Mattermost, Rocket.Chat and Teams messages: what each shows of an alert, in each
/// service's own format (the receivers refuse anything their documentation does not allow).
@Suite struct ChatOutputTests {
    static func service(_ type: String) -> ServiceUnderTest { ServiceUnderTest.all.first { $0.type == type }! }

    /// Delivers `alert` through `type` configured with `extra` keys; returns the JSON it sent.
    static func send(_ alert: OutputAlert, type: String, extra: String = "") async throws -> JSONValue {
        let (receiver, output) = try await OutputHarness.start(service(type), extra: extra)
        let request = try await OutputHarness.deliverOne(alert, to: output, at: receiver)
        await output.shutdown()
        #expect(receiver.rejections.map(\.reason) == [])
        return try request.json()
    }

    static func fields(_ attachment: JSONValue?) -> [String: String] {
        var fields: [String: String] = [:]
        for field in attachment?["fields"]?.array ?? [] { fields[field["title"]?.string ?? ""] = field["value"]?.string }
        return fields
    }

    @Test func slackShowsTheAlertInAnAttachmentColouredByPriority() async throws {
        let alert = try AlertFixtures.exec(priority: .critical, customFields: ["environment": "production-eu"])
        let message = try await Self.send(alert, type: "slack", extra: """
            channel: "#security"
            username: auditpipe
            icon_url: https://example.com/falco.png
            footer: prod fleet
            """)
        #expect(message["channel"] == .string("#security"))
        #expect(message["username"] == .string("auditpipe"))
        #expect(message["icon_url"] == .string("https://example.com/falco.png"))
        let attachment = try #require(message["attachments"]?[0])
        #expect(attachment["color"] == .string("#ff9000"))
        #expect(attachment["title"] == .string("Critical: Attach/Exec Pod (prod-eu)"))
        #expect(attachment["text"] == .string(alert.alert.output))
        #expect(attachment["fallback"] == .string(alert.alert.output))
        #expect(attachment["footer"] == .string("prod fleet"))
        #expect(attachment["ts"] == .number(Double(alert.alert.time / 1_000_000_000)))
        let fields = Self.fields(attachment)
        #expect(fields["rule"] == "Attach/Exec Pod")
        #expect(fields["priority"] == "Critical")
        #expect(fields["cluster"] == "prod-eu")
        #expect(fields["ka.user.name"] == "alice@example.com")
        #expect(fields["ka.uri.param[command]"] == "sh")
        #expect(fields["environment"] == "production-eu", "custom fields are listed with the others")
        #expect(fields["time"] == AlertPresentation.time(alert.alert))
        #expect(attachment["fields"]?[0]?["title"] == .string("rule"), "rule and priority come first")
    }

    @Test func slackLeavesOutWhatTheWebhookDecidesWhenNotConfigured() async throws {
        let message = try await Self.send(try AlertFixtures.exec(), type: "slack")
        #expect(message["channel"] == nil && message["username"] == nil && message["icon_url"] == nil)
        #expect(message["attachments"]?[0]?["footer"] == nil)
    }

    @Test(arguments: [("text", true, false), ("fields", false, true), ("all", true, true)])
    func outputFormatChoosesTextFieldsOrBoth(format: String, showsText: Bool, showsFields: Bool) async throws {
        for type in ["slack", "mattermost", "rocketchat"] {
            let message = try await Self.send(try AlertFixtures.exec(), type: type, extra: "output_format: \(format)")
            let attachment = try #require(message["attachments"]?[0])
            #expect((attachment["text"] != nil) == showsText, "\(type) \(format)")
            #expect((attachment["fields"] != nil) == showsFields, "\(type) \(format)")
            #expect(attachment["title"] != nil && attachment["color"] != nil, "\(type) \(format)")
        }
    }

    @Test(arguments: Priority.allCases)
    func everyPriorityHasItsColour(priority: Priority) async throws {
        let expected = ["#e20b0b", "#ff5400", "#ff9000", "#ffc700", "#ffff00", "#5bffb5", "#68c2ff", "#ccfff2"][priority.rawValue]
        let message = try await Self.send(try AlertFixtures.exec(priority: priority), type: "mattermost")
        #expect(message["attachments"]?[0]?["color"] == .string(expected))
    }

    @Test func mattermostGetsSlacksFormatWithoutTimestamps() async throws {
        let alert = try AlertFixtures.exec(customFields: ["team": "payments"])
        let message = try await Self.send(alert, type: "mattermost", extra: "username: auditpipe\nfooter: fleet")
        #expect(message["username"] == .string("auditpipe"))
        let attachment = try #require(message["attachments"]?[0])
        #expect(attachment["ts"] == nil)
        #expect(attachment["footer"] == .string("fleet"))
        #expect(Self.fields(attachment)["team"] == "payments")
    }

    @Test func rocketChatNamesTheSenderAliasAndAvatar() async throws {
        let alert = try AlertFixtures.exec(priority: .warning, customFields: ["team": "payments"])
        let message = try await Self.send(alert, type: "rocketchat", extra: """
            username: auditpipe
            icon_url: https://example.com/falco.png
            channel: "#alerts"
            """)
        #expect(message["alias"] == .string("auditpipe"))
        #expect(message["avatar"] == .string("https://example.com/falco.png"))
        #expect(message["channel"] == .string("#alerts"))
        let attachment = try #require(message["attachments"]?[0])
        #expect(attachment["color"] == .string("#ffff00"))
        #expect(attachment["title"] == .string("Warning: Attach/Exec Pod (prod-eu)"))
        #expect(Self.fields(attachment)["team"] == "payments")
    }

    @Test func rocketChatRefusesAFooterItCannotShow() {
        #expect { try OutputHarness.definition("name: rc\ntype: rocketchat\nwebhook_url: https://chat.example.com/hooks/a/b\nfooter: x") }
            throws: { error in "\(error)".contains("outputs.yaml:4:") && "\(error)".contains("no footer") }
    }

    @Test func teamsGetsAnAdaptiveCardStyledByPriority() async throws {
        let alert = try AlertFixtures.exec(priority: .error, customFields: ["environment": "production-eu"])
        let message = try await Self.send(alert, type: "teams")
        let card = try #require(message["attachments"]?[0]?["content"])
        #expect(card["version"] == .string("1.4"))
        let body = try #require(card["body"]?.array)
        #expect(body.map { $0["type"]?.string } == ["Container", "TextBlock", "FactSet"])
        #expect(body[0]["style"] == .string("attention"))
        #expect(body[0]["items"]?[0]?["text"] == .string("Error: Attach/Exec Pod (prod-eu)"))
        #expect(body[1]["text"] == .string(alert.alert.output))
        var facts: [String: String] = [:]
        for fact in body[2]["facts"]?.array ?? [] { facts[fact["title"]?.string ?? ""] = fact["value"]?.string }
        #expect(facts["environment"] == "production-eu")
        #expect(facts["ka.target.name"] == "web-1")
    }

    @Test(arguments: [(Priority.critical, "attention"), (.warning, "warning"), (.notice, "accent"), (.informational, "default")])
    func teamsStylesFollowThePriority(priority: Priority, style: String) async throws {
        let message = try await Self.send(try AlertFixtures.exec(priority: priority), type: "teams", extra: "output_format: facts")
        let body = try #require(message["attachments"]?[0]?["content"]?["body"]?.array)
        #expect(body[0]["style"] == .string(style))
        #expect(body.map { $0["type"]?.string } == ["Container", "FactSet"], "facts: the fields without the output line")
    }
}
