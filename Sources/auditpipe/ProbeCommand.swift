import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `auditpipe probe URL`: the health check of the container image, which has no curl. GETs the URL
/// (a stage's /readyz, say) and exits 0 on a 2xx answer, 1 on any other answer or when nothing
/// answers in time, printing what it got either way.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "GET a URL; exit 0 on 2xx, 1 otherwise (health checks of images without curl).",
        discussion: "Example: auditpipe probe http://127.0.0.1:8765/readyz"
    )

    @Argument(help: "An http:// or https:// URL.")
    var url: String

    @Option(help: "Seconds to wait for the whole answer.")
    var timeout: Double = 5

    func validate() throws {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw ValidationError("'\(url)' is not an http:// or https:// URL")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be more than 0 seconds, not \(timeout)") }
    }

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let outcome: Result<(code: UInt, reason: String, body: String), any Error>
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 64 << 10)
            outcome = .success((response.status.code, response.status.reasonPhrase, String(buffer: body)))
        } catch {
            outcome = .failure(error)
        }
        // A client dropped without shutdown stops the process; shut it down on every path.
        try await client.shutdown()
        switch outcome {
        case .success(let answer):
            let firstLine = answer.body.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            print("\(answer.code) \(answer.reason)\(firstLine.isEmpty ? "" : ": \(firstLine)")")
            if !(200..<300).contains(answer.code) { throw ExitCode(1) }
        case .failure(let error):
            StandardError.print("\(url): no answer: \(error)")
            throw ExitCode(1)
        }
    }
}
