import FalcoOutputsAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Outputs
import Rules
import Settings
import Testing
import TestSupport

/// The grpc output against grpc-swift clients generated from the same proto files.
@Suite struct GRPCOutputTests {
    let environment = GRPCTestEnvironment()

    /// Runs `body` with a started output and shuts it down afterwards, whatever happens.
    func withOutput(backlog: Int = 10_000, subscriberBuffer: Int = 10_000, whenBacklogFull: GRPCBacklogPolicy = .dropOldest,
                    listen: String = "127.0.0.1:0", tls: TLSSettings = TLSSettings(),
                    _ body: (GRPCOutput) async throws -> Void) async throws {
        let output = try environment.output(listen: listen, backlog: backlog, subscriberBuffer: subscriberBuffer,
                                            whenBacklogFull: whenBacklogFull, tls: tls)
        try await using(output, release: { await $0.shutdown() }, body)
    }

    func withClient(_ output: GRPCOutput, security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
                    window: Int? = nil, _ body: (FalcoGRPCClient) async throws -> Void) async throws {
        try await using(try FalcoGRPCClient(output.address, security: security, window: window), release: { await $0.close() }, body)
    }

    @Test func subReceivesEveryFieldOfEachDeliveredAlertWithFalcosPriorityNumbers() async throws {
        try await withOutput { output in
            try await withClient(output) { client in
                let subscriber = client.subscribe()
                try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 })
                try await output.deliver(try GRPCTestAlerts.alerts())
                let received = await subscriber.waitFor(8)
                try #require(received.count == 8)

                // Falco's schema.proto numbers: EMERGENCY 0 … DEBUG 7, in the rules' order.
                #expect(received.map(\.priority) == [.emergency, .alert, .critical, .error, .warning, .notice, .informational, .debug])
                #expect(received.map(\.priority.rawValue) == [0, 1, 2, 3, 4, 5, 6, 7])
                for (response, name) in zip(received, ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"]) {
                    #expect(response.rule == "Pod created (\(name))")
                    #expect(response.time.seconds == 1_795_687_200)
                    #expect(response.time.nanos == 123_456_789)
                    #expect(response.source == "k8s_audit")
                    #expect(response.sourceDeprecated == .k8SAudit)
                    #expect(response.hostname == "node-7")
                    #expect(response.tags == ["k8s", name.lowercased()].sorted())
                    #expect(response.output == "10:00:00.123456789: \(name) pod web/api-1 by alice images=(nginx:1.27,redis:7) as=<NA>")
                    #expect(response.outputFields == GRPCTestAlerts.outputFields)
                }
                #expect(environment.metric("auditpipe_grpc_alerts_streamed_total", #"output="falco-grpc""#) == 8)
                await subscriber.cancel()
            }
        }
    }

    @Test func getReturnsTheAlertsNobodyTookInOrderAndThenEnds() async throws {
        try await withOutput { output in
            try await output.deliver(try GRPCTestAlerts.numbered(30))
            #expect(output.backlogCount == 30)
            try await withClient(output) { client in
                let first = try await client.get()
                #expect(first.compactMap(GRPCTestAlerts.index) == Array(0..<30))
                let again = try await client.get()
                #expect(again.isEmpty, "get takes what it returns, as Falco's queue")
                try await output.deliver(try GRPCTestAlerts.numbered(5, from: 30))
                let later = try await client.get()
                #expect(later.compactMap(GRPCTestAlerts.index) == Array(30..<35))
            }
            #expect(environment.metric("auditpipe_grpc_alerts_backlogged_total", #"output="falco-grpc""#) == 35)
            #expect(environment.metric("auditpipe_grpc_alerts_sent_by_get_total", #"output="falco-grpc""#) == 35)
        }
    }

    @Test func everySubscriberReceivesEveryAlertInOrder() async throws {
        try await withOutput { output in
            try await withClient(output) { client in
                let subscribers = (0..<3).map { _ in client.subscribe() }
                try #require(await eventually(within: grpcPatience) { output.subscriberCount == 3 })
                for batch in 0..<6 {
                    try await output.deliver(try GRPCTestAlerts.numbered(50, from: batch * 50))
                }
                for subscriber in subscribers {
                    #expect(await subscriber.waitFor(300).compactMap(GRPCTestAlerts.index) == Array(0..<300))
                }
                #expect(output.backlogCount == 0)
                for subscriber in subscribers { await subscriber.cancel() }
            }
        }
    }

    @Test func aNewSubscriberFirstReceivesWhatWaitedThenLiveAlerts() async throws {
        try await withOutput { output in
            try await output.deliver(try GRPCTestAlerts.numbered(5))
            try await withClient(output) { client in
                let subscriber = client.subscribe()
                try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 })
                try await output.deliver(try GRPCTestAlerts.numbered(5, from: 5))
                #expect(await subscriber.waitFor(10).compactMap(GRPCTestAlerts.index) == Array(0..<10))
                #expect(output.backlogCount == 0)
                let waiting = try await client.get()
                #expect(waiting.isEmpty)
                await subscriber.cancel()
            }
        }
    }

    @Test func aClientThatLeavesDoesNotBreakDeliveryToTheOthers() async throws {
        try await withOutput { output in
            let staying = try FalcoGRPCClient(output.address)
            let leaving = try FalcoGRPCClient(output.address)
            let kept = staying.subscribe()
            let gone = leaving.subscribe()
            let alsoGone = leaving.subscribe()
            try #require(await eventually(within: grpcPatience) { output.subscriberCount == 3 })
            try await output.deliver(try GRPCTestAlerts.numbered(10))
            #expect(await gone.waitFor(10).count == 10)

            // One call is cancelled, then the other client's whole connection goes away.
            await gone.cancel()
            await alsoGone.cancel()
            await leaving.close()
            try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 })
            for batch in 1..<5 {
                try await output.deliver(try GRPCTestAlerts.numbered(10, from: batch * 10))
            }
            #expect(await kept.waitFor(50).compactMap(GRPCTestAlerts.index) == Array(0..<50))

            // With nobody left, alerts wait for the next client.
            await kept.cancel()
            await staying.close()
            try #require(await eventually(within: grpcPatience) { output.subscriberCount == 0 })
            try await output.deliver(try GRPCTestAlerts.numbered(3, from: 50))
            #expect(output.backlogCount == 3)
        }
    }

    @Test func aSubscriberThatStopsReadingIsDisconnectedWhileTheOthersKeepUp() async throws {
        try await withOutput(subscriberBuffer: 100) { output in
            try await withClient(output) { fastClient in
                // A small HTTP/2 window keeps what the transport buffers for the slow client small.
                try await withClient(output, window: 65_535) { slowClient in
                    let fast = fastClient.subscribe()
                    let slow = slowClient.subscribe(reading: false)
                    try #require(await eventually(within: grpcPatience) { output.subscriberCount == 2 })
                    // Big alerts (about 8 KB) fill the slow client's HTTP/2 window and socket buffers
                    // quickly; then its 100-alert buffer on the server overflows.
                    var delivered = 0
                    while delivered < 20_000,
                          environment.metric("auditpipe_grpc_slow_subscribers_disconnected_total", #"output="falco-grpc""#) ?? 0 < 1 {
                        try await output.deliver(try GRPCTestAlerts.numbered(100, from: delivered, padding: 4000))
                        delivered += 100
                        // The fast client reads everything as it comes, never falling far behind.
                        #expect(await fast.waitFor(delivered).count == delivered)
                    }
                    #expect(environment.metric("auditpipe_grpc_slow_subscribers_disconnected_total", #"output="falco-grpc""#) == 1)
                    #expect(output.subscriberCount == 1)

                    // The fast one goes on receiving; the slow one gets what was buffered for it, then
                    // RESOURCE_EXHAUSTED, which tells it that it missed alerts.
                    try await output.deliver(try GRPCTestAlerts.numbered(100, from: delivered, padding: 10))
                    #expect(await fast.waitFor(delivered + 100).compactMap(GRPCTestAlerts.index) == Array(0..<(delivered + 100)))
                    slow.startReading()
                    #expect(await eventually(within: grpcPatience) { !slow.isRunning })
                    #expect(slow.failureCode == .resourceExhausted)
                    let slowIndexes = slow.received.compactMap(GRPCTestAlerts.index)
                    #expect(slowIndexes == Array(0..<slowIndexes.count), "what it got is a gap-free prefix")
                    #expect(slowIndexes.count < delivered)
                    await fast.cancel()
                }
            }
        }
    }

    @Test func whenNobodyListensTheBacklogKeepsTheNewestAndCountsWhatItDrops() async throws {
        try await withOutput(backlog: 5) { output in
            try await output.deliver(try GRPCTestAlerts.numbered(8))
            #expect(output.backlogCount == 5)
            #expect(environment.metric("auditpipe_grpc_alerts_dropped_total", #"output="falco-grpc",reason="backlog_full""#) == 3)
            try await withClient(output) { client in
                let kept = try await client.get()
                #expect(kept.compactMap(GRPCTestAlerts.index) == [3, 4, 5, 6, 7])
            }
        }
    }

    @Test func rejectLeavesAlertsInKafkaWhileTheBacklogIsFull() async throws {
        try await withOutput(backlog: 5, whenBacklogFull: .reject) { output in
            #expect(output.maxBatchSize == 5)
            try await output.deliver(try GRPCTestAlerts.numbered(4))
            let failure = await #expect(throws: DeliveryFailure.self) {
                try await output.deliver(try GRPCTestAlerts.numbered(2, from: 4))
            }
            #expect(failure?.kind == .transient(retryAfter: .seconds(1)))
            #expect(output.backlogCount == 4, "a refused batch leaves nothing behind")
            try await withClient(output) { client in
                let waiting = try await client.get()
                #expect(waiting.compactMap(GRPCTestAlerts.index) == [0, 1, 2, 3])
                try await output.deliver(try GRPCTestAlerts.numbered(2, from: 4))
                let later = try await client.get()
                #expect(later.compactMap(GRPCTestAlerts.index) == [4, 5])
            }
            #expect(environment.metric("auditpipe_grpc_alerts_dropped_total", #"output="falco-grpc",reason="backlog_full""#) == 0)
        }
    }

    @Test func shutdownEndsSubscriptionsWithUnavailableSoClientsReconnect() async throws {
        let output = try environment.output()
        let client = try FalcoGRPCClient(output.address)
        let subscriber = client.subscribe()
        try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 })
        try await output.deliver(try GRPCTestAlerts.numbered(3))
        #expect(await subscriber.waitFor(3).count == 3)
        await output.shutdown()
        #expect(await eventually(within: grpcPatience) { !subscriber.isRunning })
        #expect(subscriber.failureCode == .unavailable)
        await client.close()
    }

    @Test func servesOverAUnixSocketAsFalcoDoesAndReplacesAStaleSocketFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("falco.sock")
        try await withOutput(listen: "unix://\(path)") { output in
            #expect(output.address == .unix(path: path))
            // A second server on a socket that is alive is refused with the reason.
            let refused = #expect(throws: GRPCOutput.SetupError.self) {
                _ = try environment.output(name: "second", listen: "unix://\(path)")
            }
            #expect(refused?.description == "grpc output 'second': cannot listen on unix://\(path): another server is listening on it")
            try await output.deliver(try GRPCTestAlerts.numbered(2))
            try await withClient(output) { client in
                let alerts = try await client.get()
                #expect(alerts.compactMap(GRPCTestAlerts.index) == [0, 1])
            }
        }
        // A socket file nobody listens on any more (a crashed process) is replaced.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        if FileManager.default.fileExists(atPath: path) { unlink(path) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(stale)
        try #require(bound == 0 && FileManager.default.fileExists(atPath: path))
        try await withOutput(listen: "unix://\(path)") { output in
            try await output.deliver(try GRPCTestAlerts.numbered(1))
            try await withClient(output) { client in
                let alerts = try await client.get()
                #expect(alerts.count == 1)
            }
        }
    }

    @Test func anAddressInUseFailsTheOutputWithTheAddress() async throws {
        try await withOutput { output in
            guard case .tcp(let address) = output.address else {
                Issue.record("expected a TCP address, got \(output.address)")
                return
            }
            #expect(address.port > 0)
            let refused = #expect(throws: GRPCOutput.SetupError.self) {
                _ = try environment.output(name: "second", listen: "127.0.0.1:\(address.port)")
            }
            #expect(refused?.description == "grpc output 'second': cannot listen on 127.0.0.1:\(address.port): Address already in use")
        }
    }

    @Test func mutualTLSAdmitsClientsWithACertificateFromTheCAOnly() async throws {
        let certificates = try TestCertificates()
        try await withOutput(tls: certificates.serverTLS(mutual: true)) { output in
            try await output.deliver(try GRPCTestAlerts.numbered(2))
            let trusted = HTTP2ClientTransport.Posix.TransportSecurity.mTLS(
                certificateChain: [.file(path: certificates.clientCertFile, format: .pem)],
                privateKey: .file(path: certificates.clientKeyFile, format: .pem)
            ) { $0.trustRoots = .certificates([.file(path: certificates.caFile, format: .pem)]) }
            try await withClient(output, security: trusted) { client in
                let alerts = try await client.get()
                #expect(alerts.compactMap(GRPCTestAlerts.index) == [0, 1])
                let subscriber = client.subscribe()
                try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 })
                try await output.deliver(try GRPCTestAlerts.numbered(1, from: 2))
                #expect(await subscriber.waitFor(1).compactMap(GRPCTestAlerts.index) == [2])
                await subscriber.cancel()
            }

            let withoutCertificate = HTTP2ClientTransport.Posix.TransportSecurity.tls {
                $0.trustRoots = .certificates([.file(path: certificates.caFile, format: .pem)])
            }
            try await withClient(output, security: withoutCertificate) { client in
                await #expect(throws: RPCError.self) { try await client.get() }
            }
            try await withClient(output, security: .plaintext) { client in
                await #expect(throws: RPCError.self) { try await client.get() }
            }
        }
    }

    @Test func tlsWithoutACAServesAnyClientOverTLS() async throws {
        let certificates = try TestCertificates()
        try await withOutput(tls: certificates.serverTLS(mutual: false)) { output in
            try await output.deliver(try GRPCTestAlerts.numbered(1))
            let security = HTTP2ClientTransport.Posix.TransportSecurity.tls {
                $0.trustRoots = .certificates([.file(path: certificates.caFile, format: .pem)])
            }
            try await withClient(output, security: security) { client in
                let alerts = try await client.get()
                #expect(alerts.count == 1)
            }
        }
    }

    @Test func aMissingCertificateFileStopsTheOutputFromStarting() throws {
        var tls = TLSSettings()
        tls.certFile = "/nonexistent/server.crt"
        tls.keyFile = "/nonexistent/server.key"
        let refused = #expect(throws: GRPCOutput.SetupError.self) {
            _ = try environment.output(tls: tls)
        }
        #expect(refused?.description.hasPrefix("grpc output 'falco-grpc': cannot use tls.cert_file /nonexistent/server.crt: ") == true)
    }
}
