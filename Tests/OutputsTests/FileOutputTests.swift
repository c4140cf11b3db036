import Foundation
import Outputs
import Rules
import Settings
import Testing
import TestSupport

/// The file output through the delivery policy: lines appended, rotation, reopening, and its
/// failures classified (a missing directory may appear; a directory is never a file).
@Suite(.serialized) struct FileOutputTests {
    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func alertsAreAppendedAsJSONLinesOrText() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let alerts = (0..<5).map { SampleAlerts.alert($0) }
        let json = FileOutput(name: "json", configuration: .init(path: directory.file("alerts.jsonl")))
        #expect(try await harness.policy(json, PolicyHarness.settings("json")).process(PolicyHarness.items(alerts)) == 5)
        #expect(Self.lines(directory.file("alerts.jsonl")) == alerts.map(AlertEncoder.json))
        let text = FileOutput(name: "text", configuration: .init(path: directory.file("alerts.log"), format: .text))
        #expect(try await harness.policy(text, PolicyHarness.settings("text")).process(PolicyHarness.items(alerts)) == 5)
        #expect(try await harness.policy(text, PolicyHarness.settings("text")).process(PolicyHarness.items([SampleAlerts.alert(9)])) == 1)
        #expect(Self.lines(directory.file("alerts.log")) == (alerts + [SampleAlerts.alert(9)]).map(\.output))
        await json.shutdown()
        await text.shutdown()
    }

    @Test func filesRotateBySizeKeepingTheConfiguredNumber() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("alerts.jsonl")
        let harness = try PolicyHarness()
        let lineSize = AlertEncoder.json(SampleAlerts.alert(0)).utf8.count + 1
        let output = FileOutput(name: "rotating", configuration: .init(path: path, maxSize: ByteSize(lineSize * 10), maxFiles: 2))
        let policy = try harness.policy(output, PolicyHarness.settings("rotating") { $0.batch.maxSize = 4 })
        let alerts = (0..<50).map { SampleAlerts.alert($0) }
        #expect(await policy.process(PolicyHarness.items(alerts)) == 50)
        let files = [path, path + ".1", path + ".2"]
        for file in files {
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            #expect(size > 0 && size <= lineSize * 10 + 40, "\(file): \(size) bytes")
        }
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        // The newest alerts are in the current file, the ones before them in .1, and so on; all whole lines.
        let kept = (Self.lines(path + ".2") + Self.lines(path + ".1") + Self.lines(path)).map {
            try? AlertDecoder().decode(Array($0.utf8)).id
        }
        #expect(kept == alerts.suffix(kept.count).map(\.id))
        await output.shutdown()
    }

    @Test func aFileMovedAwayIsReopened() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("alerts.jsonl")
        let harness = try PolicyHarness()
        let output = FileOutput(name: "moved", configuration: .init(path: path))
        let policy = try harness.policy(output, PolicyHarness.settings("moved"))
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(1)])) == 1)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".old")
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(2)])) == 1)
        #expect(Self.lines(path + ".old").count == 1)
        #expect(Self.lines(path) == [AlertEncoder.json(SampleAlerts.alert(2))])
        await output.shutdown()
    }

    @Test func priorityFilterAndCustomFieldsApply() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let output = FileOutput(name: "filtered", configuration: .init(path: directory.file("a.jsonl")))
        let policy = try harness.policy(output, PolicyHarness.settings("filtered") {
            $0.minimumPriority = .error
            $0.customFields = ["env": "prod"]
        })
        let alerts = (0..<10).map { SampleAlerts.alert($0) }
        #expect(await policy.process(PolicyHarness.items(alerts)) == 10)
        let written = try Self.lines(directory.file("a.jsonl")).map { try AlertDecoder().decode(Array($0.utf8)) }
        #expect(written.map(\.id) == alerts.filter { $0.priority <= .error }.map(\.id))
        #expect(written.allSatisfy { $0.outputField("env") == .string("prod") })
        #expect(harness.counter("filtered", output: "filtered") == Int64(alerts.filter { $0.priority > .error }.count))
        await output.shutdown()
    }

    @Test func aDirectoryThatIsNotThereYetIsRetriedUntilItAppears() async throws {
        let directory = try TemporaryDirectory()
        let later = directory.file("later")
        let harness = try PolicyHarness()
        let output = FileOutput(name: "later", configuration: .init(path: later + "/alerts.jsonl"))
        let policy = try harness.policy(output, PolicyHarness.settings("later") {
            $0.retry.maxAttempts = 1000
            $0.retry.initialBackoff = ConfigDuration(.milliseconds(20))
        })
        Task {
            try await Task.sleep(for: .milliseconds(300))
            try FileManager.default.createDirectory(atPath: later, withIntermediateDirectories: false)
        }
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(1)])) == 1)
        #expect(Self.lines(later + "/alerts.jsonl").count == 1)
        #expect(harness.counter("retried", output: "later") > 0)
        #expect(harness.counter("dead_lettered", output: "later") == 0)
        await output.shutdown()
    }

    @Test func aFullDeviceIsTransientAndDeadLettersWhenRetriesRunOut() async throws {
        let harness = try PolicyHarness()
        let output = FileOutput(name: "full", configuration: .init(path: "/dev/full"))
        let policy = try harness.policy(output, PolicyHarness.settings("full") { $0.retry.maxAttempts = 3 })
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(1)])) == 1)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("attempts") == "3")
        #expect(letter.header("error")?.contains("No space left on device") == true)
        await output.shutdown()
    }

    @Test func aPathThatIsADirectoryIsPermanentAndDeadLettersAtOnce() async throws {
        let directory = try TemporaryDirectory()
        let harness = try PolicyHarness()
        let output = FileOutput(name: "dir", configuration: .init(path: directory.path))
        let policy = try harness.policy(output, PolicyHarness.settings("dir"))
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(1)])) == 1)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("attempts") == "1")
        #expect(letter.header("output") == "dir")
        #expect(letter.header("error")?.contains("Is a directory") == true)
        await output.shutdown()
    }
}
