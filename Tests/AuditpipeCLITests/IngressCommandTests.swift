import AsyncHTTPClient
import Foundation
import Kafka
import NIOCore
import TestSupport
import Testing

/// `auditpipe ingress` as a separate process, fed over HTTP and read back from Kafka.
@Suite struct IngressCommandTests {
    static func event(_ id: String) -> String {
        #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"\#(id)","stage":"ResponseComplete","verb":"get","#
            + #""objectRef":{"resource":"pods","namespace":"web"},"stageTimestamp":"2026-11-26T10:00:00.000001Z"}"#
    }

    @Test func servesTheWebhookAndStopsGracefullyOnSigterm() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let ingress = try ChildProcess(CLIRunner.binary, ["ingress", "--brokers", cluster.bootstrapServers,
                                                          "--listen", "127.0.0.1:0"])
        // One line says where it listens (port 0: the port the system gave).
        #expect(await ingress.waitForOutput(containing: "ingress listening on http://127.0.0.1:"), "\(ingress.stderr)")
        let match = try #require(ingress.stderr.firstMatch(of: #/listening on http://127\.0\.0\.1:(\d+)/#))
        let port = try #require(Int(match.1))

        try await Self.withClient { client in
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/k8s-audit/cli")
            request.method = .POST
            let body = #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":["# + Self.event("cli-1") + ","
                + Self.event("cli-2") + "]}"
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await client.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
            #expect(response.status.code == 200, "\(text)")
            #expect(text == "{\"accepted\":2,\"rejected\":0}\n")
            let health = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"),
                                                  timeout: .seconds(10))
            #expect(health.status.code == 200)
        }

        let messages = try cluster.read("k8s-audit.raw", count: 2)
        #expect(Set(messages.map { String(decoding: $0.value, as: UTF8.self) }) == [Self.event("cli-1"), Self.event("cli-2")])
        #expect(messages.allSatisfy { $0.key == Array("cli/web".utf8) && $0.header("cluster") == "cli" })

        let status = await ingress.stop(signal: SIGTERM, within: .seconds(20))
        #expect(status == 0, "\(ingress.stderr)")
        #expect(ingress.stderr.contains("ingress stopped"))
    }

    /// The ingress must not hold an apiserver's request while Kafka is down: the 503 comes within produce_timeout.
    /// Measured against the ingress in its own process, from a thread of the test's own, so that other tests
    /// running in this process (and their blocking waits) do not distort the clock.
    @Test func kafkaDownIsAnswered503WithinTheProduceTimeout() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 4)
        let directory = try TemporaryDirectory()
        let config = try directory.write("ingress.yaml", """
            ingress:
              produce_timeout: 2s
              retry_after: 1s
            kafka:
              settings: {reconnect.backoff.max.ms: "1000"}
            """)
        let ingress = try ChildProcess(CLIRunner.binary, ["ingress", "--brokers", cluster.bootstrapServers,
                                                          "--listen", "127.0.0.1:0", "--config", config])
        #expect(await ingress.waitForOutput(containing: "ingress listening on"), "\(ingress.stderr)")
        let match = try #require(ingress.stderr.firstMatch(of: #/listening on http://127\.0\.0\.1:(\d+)/#))
        let url = "http://127.0.0.1:\(match.1)/k8s-audit/timed"
        try await Self.withClient { client in
            /// One POST, timed on a thread of its own: status, Retry-After and how long the answer took.
            func timedPost(_ id: String) async throws -> (status: UInt, retryAfter: String?, elapsed: Duration) {
                try await blocking {
                    let request = try HTTPClient.Request(url: url, method: .POST, body: .string(Self.event(id)))
                    let started = ContinuousClock.now
                    let response = try client.execute(request: request, deadline: .now() + .seconds(60)).wait()
                    return (response.status.code, response.headers.first(name: "Retry-After"), ContinuousClock.now - started)
                }
            }
            // The producer meets the cluster first (a first produce on a loaded machine can take a while).
            let warm = try await eventually(within: .seconds(30), every: .milliseconds(200)) {
                try await timedPost("warm-\(UUID().uuidString)").status == 200
            }
            #expect(warm, "\(ingress.stderr)")

            try cluster.cluster.setBroker(1, up: false)
            for attempt in 0..<2 {
                let answer = try await timedPost("down-\(attempt)")
                #expect(answer.status == 503)
                #expect(answer.retryAfter == "1")
                #expect(answer.elapsed >= .seconds(1.9), "503 after \(answer.elapsed)")
                #expect(answer.elapsed < .seconds(3.5), "503 after \(answer.elapsed), produce_timeout is 2s")
            }
            try cluster.cluster.setBroker(1, up: true)
        }
        #expect(await ingress.stop(signal: SIGTERM, within: .seconds(20)) == 0, "\(ingress.stderr)")
    }

    /// An HTTP client shut down on every path (one dropped without shutdown stops the test process).
    static func withClient<Value>(_ body: (HTTPClient) async throws -> Value) async throws -> Value {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func withoutBrokersOrWithABadAddressItIsAUsageError() throws {
        let noBrokers = try CLIRunner.run(["ingress"])
        #expect(noBrokers.status == 2)
        #expect(noBrokers.stderr.contains("no Kafka brokers"))
        let badListen = try CLIRunner.run(["ingress", "--brokers", "127.0.0.1:1", "--listen", "nowhere"])
        #expect(badListen.status == 2)
        #expect(badListen.stderr.contains("--listen 'nowhere' is not host:port"))
        let directory = try TemporaryDirectory()
        let config = try directory.write("a.yaml", "ingress:\n  max_body_size: lots\n")
        let badConfig = try CLIRunner.run(["ingress", "--brokers", "127.0.0.1:1", "--config", config])
        #expect(badConfig.status == 2)
        #expect(badConfig.stderr.contains("a.yaml:2:18: ingress.max_body_size: 'lots' is not a size"))
        let missingTokens = try directory.write("b.yaml", "ingress:\n  auth: {tokens_file: /nonexistent/tokens}\n")
        let badTokens = try CLIRunner.run(["ingress", "--brokers", "127.0.0.1:1", "--config", missingTokens])
        #expect(badTokens.status == 2)
        #expect(badTokens.stderr.contains("/nonexistent/tokens: cannot read the tokens file"))
    }
}
