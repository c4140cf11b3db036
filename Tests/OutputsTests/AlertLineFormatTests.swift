import Foundation
import Outputs
import Testing

/// The line formats of stdout, file and program outputs.
@Suite struct AlertLineFormatTests {
    @Test func prettyLinesShowTimePriorityRuleClusterAndTheMessage() throws {
        let time = try #require(ISO8601DateFormatter().date(from: "2026-11-26T10:00:00Z"))
        let alert = try AlertFixtures.exec(time: time)
        let line = String(decoding: AlertLineFormat.pretty.lines([alert]), as: UTF8.self)
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1, "one line per alert")
        // Falco's own line starts with the time of day and the priority; the pretty line says them once, in front.
        #expect(alert.alert.output.hasPrefix("10:00:00.000000000: Notice "))
        let message = alert.alert.output.dropFirst("10:00:00.000000000: Notice ".count)
        #expect(line == "2026-11-26T10:00:00.000000000Z Notice   Attach/Exec Pod [prod-eu]: \(message)\n")
    }

    @Test func textIsFalcosLineAndJSONTheAlert() throws {
        let alert = try AlertFixtures.exec()
        #expect(AlertLineFormat.text.lines([alert]) == Array((alert.alert.output + "\n").utf8))
        #expect(AlertLineFormat.json.lines([alert]) == alert.json + [UInt8(ascii: "\n")])
    }
}
