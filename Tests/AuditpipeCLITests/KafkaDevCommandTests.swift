import Foundation
import Testing
import TestSupport

/// `auditpipe kafka dev` as a separate process, used by an independent client (kcat).
@Suite struct KafkaDevCommandTests {
    @Test func printsBootstrapServesTopicsAndStopsOnSigterm() throws {
        let (process, output) = try CLIRunner.spawn(["kafka", "dev", "--brokers", "2", "--partitions", "4"])
        defer {
            if process.isRunning { process.interrupt() }
            process.waitUntilExit()
        }
        // The first line names the brokers; wait at most 30 s for it.
        let text = try #require(CLIRunner.firstLine(of: output, timeout: 30)).trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(text.hasPrefix("bootstrap: "))
        let bootstrap = String(text.dropFirst("bootstrap: ".count))
        #expect(bootstrap.split(separator: ",").count == 2)
        #expect(bootstrap.split(separator: ",").allSatisfy { $0.hasPrefix("127.0.0.1:") || $0.hasPrefix("localhost:") })

        let json = try CommandResult.run("/usr/bin/kcat", ["-b", bootstrap, "-L", "-J", "-m", "20"]).stdout
        let listing = try #require(JSONSerialization.jsonObject(with: json) as? [String: Any])
        let topics = try #require(listing["topics"] as? [[String: Any]])
        let partitions = Dictionary(uniqueKeysWithValues: topics.compactMap { topic -> (String, Int)? in
            guard let name = topic["topic"] as? String, let list = topic["partitions"] as? [Any] else { return nil }
            return (name, list.count)
        })
        for name in ["k8s-audit.raw", "k8s-audit.alerts", "k8s-audit.rejects", "k8s-audit.alerts.dlq"] {
            #expect(partitions[name] == 4, "topic \(name)")
        }

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }
}
