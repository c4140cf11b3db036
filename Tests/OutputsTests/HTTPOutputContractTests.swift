import Foundation
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// What every HTTP output must do, checked for each against a receiver that enforces its
/// service's documented API: a valid request carrying the custom fields, failures classified
/// for the delivery policy, and its settings (with the common ones) read from YAML.
@Suite struct HTTPOutputContractTests {
    @Test(arguments: ServiceUnderTest.all)
    func deliversARequestTheServiceAccepts(service: ServiceUnderTest) async throws {
        let (receiver, output) = try await OutputHarness.start(service)
        let alert = try AlertFixtures.exec(priority: .critical, customFields: ["environment": "production-eu"])
        let request = try await OutputHarness.deliverOne(alert, to: output, at: receiver)
        await output.shutdown()
        #expect(receiver.rejections.map(\.reason) == [])
        #expect(request.bodyText.contains("production-eu"), "the custom field's value is shown: \(request.bodyText)")
        #expect(request.bodyText.contains("alice@example.com"), "the output fields are shown")
        #expect(output.maxBatchSize == (["http", "webhook"].contains(service.type) ? 64 : 1),
                "generic receivers take parallel requests; chat and incident services one at a time")
    }

    @Test(arguments: ServiceUnderTest.all)
    func classifiesTheServiceAnswersForRetries(service: ServiceUnderTest) async throws {
        let (receiver, output) = try await OutputHarness.start(service)
        receiver.script(ScriptedReply(status: 429, headers: [("Retry-After", "3")], body: "rate_limited"),
                        ScriptedReply(status: 500, body: "internal"),
                        ScriptedReply(status: 503),
                        ScriptedReply(status: 400, body: "invalid_payload"),
                        ScriptedReply(status: 403, body: "invalid_token"))
        let alert = try AlertFixtures.exec()
        var kinds: [DeliveryFailure.Kind?] = []
        for _ in 0..<6 { kinds.append(await OutputTestSupport.failure { try await output.deliver([alert]) }?.kind) }
        await output.shutdown()
        #expect(kinds == [.transient(retryAfter: .seconds(3)), .transient(retryAfter: nil), .transient(retryAfter: nil),
                          .permanent, .permanent, nil])
        #expect(receiver.requests.count == 6)
    }

    @Test(arguments: ServiceUnderTest.all)
    func readsItsSettingsWithTheCommonOnes(service: ServiceUnderTest) throws {
        let definition = try OutputHarness.definition(OutputHarness.yaml(
            service, baseURL: "https://example.com",
            extra: "minimum_priority: error\ncustom_fields: {env: prod}\ntls: {insecure_skip_verify: true}"))
        #expect(definition.common.type == service.type)
        #expect(definition.common.minimumPriority == .error)
        #expect(definition.common.customFields == ["env": "prod"])
        #expect(definition.common.tls.insecureSkipVerify)
        #expect(type(of: definition.configuration).type == service.type)
    }

    @Test(arguments: ServiceUnderTest.all)
    func refusesAnUnknownKeyAtItsLine(service: ServiceUnderTest) {
        let yaml = OutputHarness.yaml(service, baseURL: "https://example.com") + "\nwebhok_url: https://typo.example.com"
        let line = yaml.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect { try OutputHarness.definition(yaml) } throws: { error in
            "\(error)".contains("outputs.yaml:\(line):") && "\(error)".contains("webhok_url")
        }
    }

    @Test func refusesAURLThatIsNotHTTPAtItsLine() {
        #expect { try OutputHarness.definition("name: s\ntype: slack\nwebhook_url: hooks.slack.com/services/T/B/X") } throws: { error in
            "\(error)".contains("outputs.yaml:3:") && "\(error)".contains("not an http:// or https:// URL")
        }
    }
}
