import FalcoOutputsAPI
import Outputs
import Testing
import TestSupport

/// The grpc output under the sink's delivery policy, built from YAML as the sink builds it.
@Suite struct GRPCOutputPolicyTests {
    @Test func subscribersGetAlertsFromTheMinimumPriorityUpWithCustomAndTemplatedFields() async throws {
        let harness = try PolicyHarness()
        let definition = try OutputHarness.definition("""
            name: falco-grpc
            type: grpc
            listen: 127.0.0.1:0
            minimum_priority: warning
            custom_fields: {env: prod}
            templated_fields: {target: "%ka.target.namespace/%ka.target.name"}
            """)
        let output = try #require(try definition.makeOutput(context: OutputTestSupport.context) as? GRPCOutput)
        try await using(output, release: { await $0.shutdown() }) { output in
            try await using(try FalcoGRPCClient(output.address), release: { await $0.close() }) { client in
                let subscriber = client.subscribe()
                try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 })
                let policy = try harness.policy(output, definition.common)
                let done = await policy.process(PolicyHarness.items(try GRPCTestAlerts.alerts().map(\.alert)))
                #expect(done == 8)
                #expect(harness.counter("delivered", output: "falco-grpc") == 5)
                #expect(harness.counter("filtered", output: "falco-grpc") == 3)

                let received = await subscriber.waitFor(5)
                #expect(received.map(\.priority) == [.emergency, .alert, .critical, .error, .warning])
                for response in received {
                    #expect(response.outputFields["env"] == "prod")
                    #expect(response.outputFields["target"] == "web/api-1")
                    #expect(response.outputFields["ka.user.name"] == "alice")
                }
                await subscriber.cancel()
            }
        }
    }
}
