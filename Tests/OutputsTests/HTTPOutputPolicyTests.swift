import Foundation
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// Each HTTP output behind the sink's delivery policy, configured from YAML as the sink
/// configures it: the priority filter, custom and templated fields in what the service shows,
/// a 429 retried after its Retry-After, a refused request dead-lettered with the service's reason.
@Suite(.serialized) struct HTTPOutputPolicyTests {
    @Test(arguments: ServiceUnderTest.all)
    func throughTheDeliveryPolicy(service: ServiceUnderTest) async throws {
        let harness = try PolicyHarness()
        let receiver = try await HTTPTestReceiver(validator: service.validator)
        let definition = try OutputHarness.definition(OutputHarness.yaml(service, baseURL: receiver.baseURL, extra: """
            minimum_priority: warning
            custom_fields: {environment: production-eu}
            templated_fields: {target: "%ka.target.namespace/%ka.target.name"}
            retry: {initial_backoff: 10ms, max_backoff: 50ms, max_attempts: 3}
            """))
        let output = try definition.makeOutput(context: OutputTestSupport.context)
        let policy = try harness.policy(output, definition.common)

        let notice = try AlertFixtures.exec(priority: .notice, auditID: "a-notice")
        let critical = try AlertFixtures.exec(priority: .critical, auditID: "a-critical")
        #expect(await policy.process([.alert(notice), .alert(critical)]) == 2)
        let delivered = receiver.requests
        #expect(delivered.count == 1, "the Notice alert is below minimum_priority")
        #expect(receiver.rejections.map(\.reason) == [])
        let body = try #require(delivered.first).bodyText
        #expect(body.contains("production-eu"), "custom field shown: \(body)")
        #expect(body.contains("shop/web-1"), "templated field shown: \(body)")
        #expect(harness.counter("filtered", output: definition.common.name) == 1)

        receiver.script(ScriptedReply(status: 429, headers: [("Retry-After", "1")], body: "slow down"))
        let retried = try AlertFixtures.exec(priority: .error, auditID: "a-retried")
        #expect(await policy.process([.alert(retried)]) == 1)
        #expect(receiver.requests.count == 3, "the 429 and the retry")
        #expect(harness.counter("retried", output: definition.common.name) == 1)

        receiver.script(ScriptedReply(status: 400, body: "invalid_payload"))
        let refused = try AlertFixtures.exec(priority: .alert, auditID: "a-refused")
        #expect(await policy.process([.alert(refused)]) == 1)
        #expect(receiver.requests.count == 4, "a permanent failure is not retried")
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("output") == definition.common.name)
        #expect(letter.header("error")?.contains("HTTP 400") == true)
        #expect(letter.header("error")?.contains("invalid_payload") == true)
        #expect(letter.header("error")?.contains(receiver.baseURL) == true)
        #expect(harness.counter("delivered", output: definition.common.name) == 2)
        await output.shutdown()
    }
}
