import Foundation
import Outputs
import Rules
import Settings
import Testing
import TestSupport

/// The program output through the delivery policy, with real shell commands: one run per alert
/// (exit status is the answer) and a kept-alive process that is restarted when it dies.
@Suite(.serialized) struct ProgramOutputTests {
    @Test func eachAlertIsPipedToARunOfTheCommand() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let output = ProgramOutput(name: "per-alert", configuration: .init(command: "cat >> '\(directory.file("out"))'"))
        #expect(output.maxBatchSize == 1)
        let alerts = (0..<4).map { SampleAlerts.alert($0) }
        #expect(try await harness.policy(output, PolicyHarness.settings("per-alert")).process(PolicyHarness.items(alerts)) == 4)
        #expect(FileOutputTests.lines(directory.file("out")) == alerts.map(AlertEncoder.json))
        await output.shutdown()
    }

    @Test func aKeptAliveProgramGetsLineAfterLineAndIsRestartedWhenItExits() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let out = directory.file("out")
        // Takes one line and exits: every later alert finds it dead and starts a new one.
        let output = ProgramOutput(name: "kept", configuration: .init(command: "head -n 1 >> '\(out)'", format: .text, keepAlive: true))
        let policy = try harness.policy(output, PolicyHarness.settings("kept") { $0.retry.maxAttempts = 50 })
        var expected: [String] = []
        for index in 0..<3 {
            let alert = SampleAlerts.alert(index)
            #expect(await policy.process(PolicyHarness.items([alert])) == 1)
            expected.append(alert.output)
            #expect(await eventually(within: .seconds(20)) { FileOutputTests.lines(out) == expected })
            try await Task.sleep(for: .milliseconds(500))  // let `head` exit before the next alert
        }
        await output.shutdown()
    }

    @Test func aKeptAliveProgramTakesBatches() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let out = directory.file("out")
        let output = ProgramOutput(name: "stream", configuration: .init(command: "cat >> '\(out)'", keepAlive: true))
        let alerts = (0..<500).map { SampleAlerts.alert($0) }
        #expect(try await harness.policy(output, PolicyHarness.settings("stream")).process(PolicyHarness.items(alerts)) == 500)
        await output.shutdown()
        #expect(FileOutputTests.lines(out) == alerts.map(AlertEncoder.json))
    }

    @Test func customFieldsReachTheProgramAndThePriorityFilterApplies() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let out = directory.file("out")
        let output = ProgramOutput(name: "fields", configuration: .init(command: "cat >> '\(out)'", keepAlive: true))
        let policy = try harness.policy(output, PolicyHarness.settings("fields") {
            $0.minimumPriority = .warning
            $0.customFields = ["source_cluster_group": "eu"]
        })
        let alerts = (0..<10).map { SampleAlerts.alert($0) }
        #expect(await policy.process(PolicyHarness.items(alerts)) == 10)
        await output.shutdown()
        let written = try FileOutputTests.lines(out).map { try AlertDecoder().decode(Array($0.utf8)) }
        #expect(written.map(\.id) == alerts.filter { $0.priority <= .warning }.map(\.id))
        #expect(written.allSatisfy { $0.outputField("source_cluster_group") == .string("eu") })
    }

    @Test func aFailingRunIsRetriedUntilTheProgramSucceeds() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let out = directory.file("out"), ready = directory.file("ready")
        let output = ProgramOutput(name: "flaky", configuration: .init(
            command: "if [ -e '\(ready)' ]; then cat >> '\(out)'; else cat > /dev/null; exit 1; fi"))
        let policy = try harness.policy(output, PolicyHarness.settings("flaky") { $0.retry.maxAttempts = 1000 })
        Task {
            try await Task.sleep(for: .milliseconds(300))
            _ = FileManager.default.createFile(atPath: ready, contents: nil)
        }
        let alert = SampleAlerts.alert(7)
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        #expect(FileOutputTests.lines(out) == [AlertEncoder.json(alert)])
        #expect(harness.counter("retried", output: "flaky") > 0)
        #expect(harness.counter("dead_lettered", output: "flaky") == 0)
    }

    @Test func aProgramThatKeepsFailingIsDeadLetteredWhenRetriesRunOut() async throws {
        let harness = try PolicyHarness()
        let output = ProgramOutput(name: "broken", configuration: .init(command: "cat > /dev/null; exit 3"))
        let policy = try harness.policy(output, PolicyHarness.settings("broken") { $0.retry.maxAttempts = 3 })
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(8)])) == 1)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("attempts") == "3")
        #expect(letter.header("error")?.contains("exited with status 3") == true)
        #expect(harness.counter("retried", output: "broken") == 2)
    }

    @Test func exitStatus65RefusesTheAlertForGood() async throws {
        let harness = try PolicyHarness()
        let output = ProgramOutput(name: "refuses", configuration: .init(command: "cat > /dev/null; exit 65"))
        let policy = try harness.policy(output, PolicyHarness.settings("refuses"))
        let alert = SampleAlerts.alert(9)
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.value == Array(AlertEncoder.json(alert).utf8))
        #expect(letter.header("attempts") == "1")
        #expect(letter.header("error")?.contains("exit status 65") == true)
    }
}
