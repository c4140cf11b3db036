import AsyncHTTPClient
import Settings
import Foundation
import Logging
import Metrics
import Pipeline
import ServiceLifecycle
import Testing

/// /healthz, /readyz and /metrics over real HTTP on loopback.
@Suite struct OpsServerTests {
    @Test func servesHealthReadinessAndPrometheusMetrics() async throws {
        let metrics = PipelineMetrics()
        let counter = Counter(label: "auditpipe_test_events_total", dimensions: [("stage", "test")], factory: metrics.factory)
        counter.increment(by: 3)
        let ready = ReadyFlag()
        let server = OpsServer(address: ListenAddress(host: "127.0.0.1", port: 0), metrics: metrics,
                               logger: Logger(label: "test")) { ready.isReady ? .ready : .notReady("kafka unreachable") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(await server.port())
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            func get(_ path: String) async throws -> (Int, String) {
                let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"),
                                                        timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 1 << 20)
                return (Int(response.status.code), String(buffer: body))
            }
            // The client is shut down whatever happens: AsyncHTTPClient stops the process when one is not.
            do {
                #expect(try await get("/healthz") == (200, "ok\n"))
                #expect(try await get("/readyz") == (503, "not ready: kafka unreachable\n"))
                ready.isReady = true
                #expect(try await get("/readyz") == (200, "ready\n"))
                let (status, text) = try await get("/metrics")
                #expect(status == 200)
                #expect(text.contains(#"auditpipe_test_events_total{stage="test"} 3"#))
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
    }
}

final class ReadyFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isReady: Bool {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
