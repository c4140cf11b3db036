import Foundation
import TestSupport
import Testing

/// `auditpipe probe URL`, the health check of the container image: 0 on 2xx, 1 otherwise, 2 for a bad command line.
@Suite struct ProbeCommandTests {
    @Test func aReadyEndpointExitsZeroAndSaysWhatItGot() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 200, body: "ready\n"))
        let result = try CLIRunner.run(["probe", receiver.url("/readyz")])
        await receiver.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "200 OK: ready\n")
        #expect(receiver.requests.map(\.method) == ["GET"])
        #expect(receiver.requests.map(\.path) == ["/readyz"])
    }

    @Test func aNotReadyEndpointExitsOne() async throws {
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 503, body: "kafka: no broker answers"))
        let result = try CLIRunner.run(["probe", receiver.url("/readyz")])
        await receiver.stop()
        #expect(result.status == 1)
        #expect(result.stdout == "503 Service Unavailable: kafka: no broker answers\n")
    }

    @Test func nothingListeningExitsOneNamingTheURL() throws {
        let url = "http://127.0.0.1:\(try FreePort.allocate())/healthz"
        let result = try CLIRunner.run(["probe", url])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("\(url): no answer"), "\(result.stderr)")
    }

    @Test func aSilentServerExitsOneAtTheTimeout() async throws {
        // The server would answer 200 after 60 s: exit 1 means the probe gave up first (no timed assertion, the
        // machine may be loaded).
        let receiver = try await HTTPTestReceiver(reply: ScriptedReply(status: 200, delay: .seconds(60)))
        let result = try CLIRunner.run(["probe", "--timeout", "1", receiver.url("/readyz")], timeout: 50)
        await receiver.stop()
        #expect(result.status == 1)
        #expect(result.stderr.contains("no answer"), "\(result.stderr)")
    }

    @Test func aURLThatIsNotHTTPIsAUsageError() throws {
        let result = try CLIRunner.run(["probe", "ftp://127.0.0.1/readyz"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("'ftp://127.0.0.1/readyz' is not an http:// or https:// URL"), "\(result.stderr)")
    }
}
