import Foundation
import TestSupport
import Testing

/// `auditpipe check` and `auditpipe rules validate`, run as a user would.
@Suite struct CheckCommandTests {
    static let rules = """
        - rule: Pod exec
          desc: exec into a pod
          condition: ka.target.subresource=exec and ka.verb=create
          output: exec into %ka.target.namespace/%ka.target.name by %ka.user.name (groups=%ka.user.groups cluster=%ka.cluster.name)
          priority: notice
          source: k8s_audit
          tags: [k8s, exec]

        """

    static func event(_ id: String, subresource: String = "exec", user: String = "alice") -> String {
        """
        {"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"\(id)","stage":"ResponseStarted","verb":"create",\
        "requestURI":"/api/v1/namespaces/web/pods/api-1/\(subresource)?command=sh","user":{"username":"\(user)","groups":["dev","ops"]},\
        "objectRef":{"resource":"pods","namespace":"web","name":"api-1","subresource":"\(subresource)"},\
        "stageTimestamp":"2026-11-26T10:00:00.5Z"}
        """
    }

    static func alerts(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func jsonLinesGiveOneAlertPerMatchInFalcoFormat() throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("rules.yaml", Self.rules)
        let events = try directory.write("events.jsonl", [Self.event("e1"), Self.event("e2", subresource: "log"), Self.event("e3")].joined(separator: "\n") + "\n")
        let result = try CLIRunner.run(["check", "--rules", rulesPath, "--events", events, "--cluster", "prod-eu"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let alerts = try Self.alerts(result.stdout)
        #expect(alerts.map { $0["auditID"] as? String } == ["e1", "e3"])
        let alert = try #require(alerts.first)
        #expect(Set(alert.keys) == ["auditID", "cluster", "hostname", "id", "origin", "output", "output_fields", "priority", "rule", "source", "tags", "time"])
        #expect(alert["rule"] as? String == "Pod exec")
        #expect(alert["priority"] as? String == "Notice")
        #expect(alert["source"] as? String == "k8s_audit")
        #expect(alert["cluster"] as? String == "prod-eu")
        #expect(alert["tags"] as? [String] == ["exec", "k8s"])
        #expect(alert["time"] as? String == "2026-11-26T10:00:00.500000000Z")
        #expect(alert["output"] as? String == "10:00:00.500000000: Notice exec into web/api-1 by alice (groups=(dev,ops) cluster=prod-eu)")
        let fields = try #require(alert["output_fields"] as? [String: Any])
        #expect(fields["ka.user.groups"] as? [String] == ["dev", "ops"])
        #expect(fields["ka.cluster.name"] as? String == "prod-eu")
        #expect((fields["evt.time"] as? NSNumber)?.int64Value == 1_795_687_200_500_000_000)
        #expect((alert["id"] as? String)?.count == 32)
        #expect(alert["origin"] is NSNull)
    }

    @Test(arguments: ["eventlist", "array", "pretty"])
    func otherInputShapesAreDetected(shape: String) throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("rules.yaml", Self.rules)
        let items = [Self.event("e1"), Self.event("e2")]
        let text: String
        switch shape {
        case "eventlist": text = "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[\n" + items.joined(separator: ",\n") + "]}"
        case "array": text = "[\n" + items.joined(separator: ",\n") + "\n]"
        default: text = Self.event("e1").replacingOccurrences(of: ",\"", with: ",\n  \"")
        }
        let events = try directory.write("events.json", text)
        let result = try CLIRunner.run(["check", "--rules", rulesPath, "--events", events])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = shape == "pretty" ? ["e1"] : ["e1", "e2"]
        #expect(try Self.alerts(result.stdout).map { $0["auditID"] as? String } == expected)
    }

    @Test func badInputIsReportedWithItsLineAndTheRestIsEvaluated() throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("rules.yaml", Self.rules)
        let lines = [Self.event("e1"), "this is not json", "{\"kind\":\"Pod\",\"metadata\":{}}", "", Self.event("e4"),
                     "{\"kind\":\"Event\",\"auditID\":\"x\",\"stage\":\"ResponseComplete\"}"]
        let events = try directory.write("events.jsonl", lines.joined(separator: "\n"))
        let result = try CLIRunner.run(["check", "--rules", rulesPath, "--events", events])
        #expect(result.status == 1)
        #expect(try Self.alerts(result.stdout).map { $0["auditID"] as? String } == ["e1", "e4"])
        #expect(result.stderrLines.count == 3)
        #expect(result.stderrLines.first?.hasPrefix("\(events):2: not JSON") == true)
        #expect(result.stderrLines.dropFirst().first == "\(events):3: not an audit event: kind is Pod, not Event")
        #expect(result.stderrLines.last == "\(events):6: not an audit event: no valid stageTimestamp (RFC 3339)")
    }

    @Test func itemsOfAnEventListThatAreNotEventsAreReported() throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("rules.yaml", Self.rules)
        let text = "{\"kind\":\"EventList\",\"items\":[\n" + Self.event("e1") + ",\n42,\n" + Self.event("e3") + "\n]}"
        let events = try directory.write("list.json", text)
        let result = try CLIRunner.run(["check", "--rules", rulesPath, "--events", events])
        #expect(result.status == 1)
        #expect(result.stderrLines == ["\(events):3: not an audit event: an item that is not a JSON object"])
        #expect(try Self.alerts(result.stdout).count == 2)
    }

    @Test func standardInputIsTheDefaultAndIdsAreDeterministic() throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("rules.yaml", Self.rules)
        let input = Self.event("e1") + "\n" + Self.event("e2") + "\n"
        let first = try CLIRunner.run(["check", "--rules", rulesPath], stdin: input)
        let second = try CLIRunner.run(["check", "--rules", rulesPath, "--events", "-"], stdin: input)
        #expect(first.status == 0)
        let ids = try Self.alerts(first.stdout).compactMap { $0["id"] as? String }
        #expect(ids.count == 2 && Set(ids).count == 2)
        #expect(ids == (try Self.alerts(second.stdout).compactMap { $0["id"] as? String }))
    }

    @Test func badRulesRefuseToStartWithFileLineColumn() throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("bad.yaml", Self.rules.replacingOccurrences(of: "ka.verb=create", with: "ka.verbb=create"))
        let result = try CLIRunner.run(["check", "--rules", rulesPath], stdin: Self.event("e1"))
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines == ["\(rulesPath):3:45: rule 'Pod exec': unknown field 'ka.verbb'"])
    }

    @Test func usageErrorsExitWithTwo() throws {
        #expect(try CLIRunner.run(["check"]).status == 2)
        #expect(try CLIRunner.run(["check", "--rules", "/nonexistent/rules.yaml"], stdin: "").status == 2)
        let missingEvents = try CLIRunner.run(["check", "--rules", CLIRunner.falcoRules, "--events", "/nonexistent/events.json"])
        #expect(missingEvents.status == 2)
        #expect(missingEvents.stderr.contains("/nonexistent/events.json: cannot read events"))
    }

    @Test func validateSummarisesFalcosRules() throws {
        let result = try CLIRunner.run(["rules", "validate", CLIRunner.falcoRules])
        #expect(result.status == 0)
        #expect(result.stdout == "\(CLIRunner.falcoRules): 48 rules, 45 macros, 18 lists, no rules of other sources\n")
    }

    @Test func validateReportsEveryErrorAndExitsTwo() throws {
        let directory = try TemporaryDirectory()
        let bad = try directory.write("bad.yaml", """
            - macro: m
              condition: ka.verb in (a, b
            - rule: r
              desc: d
              condition: m and undefined_macro
              output: "%ka.nope"
              priority: urgent
              source: k8s_audit

            """)
        let result = try CLIRunner.run(["rules", "validate", bad])
        #expect(result.status == 2)
        #expect(result.stderrLines == [
            "\(bad):7:13: rule 'r' has priority 'urgent'; expected one of emergency, alert, critical, error, warning, notice, informational (info), debug",
        ])
        let fixed = try directory.write("fixed.yaml", try String(contentsOfFile: bad, encoding: .utf8).replacingOccurrences(of: "urgent", with: "error"))
        let second = try CLIRunner.run(["rules", "validate", fixed])
        #expect(second.status == 2)
        #expect(second.stderrLines == [
            "\(fixed):2:25: macro 'm': missing ')' to close the value list",
            "\(fixed):5:20: rule 'r': undefined macro 'undefined_macro'",
            "\(fixed):6:11: rule 'r': invalid formatting token '%ka.nope': unknown field",
        ])
    }

    @Test func skippedSourcesAreCountedInTheSummary() throws {
        let directory = try TemporaryDirectory()
        let mixed = try directory.write("mixed.yaml", Self.rules + """
            - rule: Shell
              desc: d
              condition: proc.name = bash
              output: o
              priority: warning
              source: syscall

            """)
        let result = try CLIRunner.run(["rules", "validate", mixed])
        #expect(result.status == 0)
        #expect(result.stdout == "\(mixed): 1 rules, 0 macros, 0 lists, 1 rules of other sources skipped (1 syscall)\n")
    }

    @Test func alertsStreamWhileInputIsStillOpen() throws {
        let directory = try TemporaryDirectory()
        let rulesPath = try directory.write("rules.yaml", Self.rules)
        let input = Pipe()
        let (process, output) = try CLIRunner.spawn(["check", "--rules", rulesPath], stdin: input)
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        input.fileHandleForWriting.write(Data((Self.event("live-1") + "\n").utf8))
        // The alert must come out before stdin is closed; wait at most 20 s for it.
        let line = CLIRunner.firstLine(of: output, timeout: 20)
        #expect(line?.contains("live-1") == true)
        try input.fileHandleForWriting.close()
    }
}
