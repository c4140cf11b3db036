import ArgumentParser
import AuditModel
import Foundation
import Rules

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Evaluate rules on audit events offline; alerts are printed as JSON lines.",
        discussion: """
            Events may be JSON lines of Event, one EventList, or a JSON array of events.
            Exit status: 0 when all input was read, 1 when some of it was not an audit event \
            (each reported on stderr with its line; the rest is still evaluated), 2 on a usage or rules error.
            """
    )

    @Option(name: .long, help: "A rules file; repeat to load several, in order.")
    var rules: [String] = []

    @Option(name: .long, help: "The events to read: a file, or - for standard input.")
    var events: String = "-"

    @Option(name: .long, help: "first: only the first matching rule per event, as Falco; all: every matching rule.")
    var ruleMatching: RuleMatchingOption = .first

    @Option(name: .long, help: "Cluster name for ka.cluster.name and the alerts' cluster.")
    var cluster: String = ""

    func validate() throws {
        if rules.isEmpty { throw ValidationError("give at least one --rules file") }
    }

    func run() throws {
        guard let ruleSet = RulesLoading.load(rules, matching: ruleMatching.value) else { throw ExitCode(2) }
        let evaluator = ruleSet.makeEvaluator()
        let output = AlertWriter()
        let input = EventInput()
        let source = events == "-" ? "stdin" : events
        var rejected = 0
        let item: (EventInput.Item) throws -> Void = { item in
            do {
                try evaluator.evaluate(item.bytes, cluster: cluster, origin: nil) { output.write($0) }
            } catch let rejection as EventRejection {
                rejected += 1
                output.flush()
                StandardError.print("\(source):\(item.line): \(rejection.reason)")
            }
        }
        let problem: (EventInput.Problem) -> Void = { problem in
            rejected += 1
            output.flush()
            StandardError.print("\(source):\(problem.line): \(problem.reason)")
        }
        do {
            if events == "-" {
                try input.read(fd: STDIN_FILENO, item: item, problem: problem, afterChunk: { output.flush() })
            } else {
                try input.read(path: events, item: item, problem: problem)
            }
        } catch let error as POSIXError {
            StandardError.print("\(source): cannot read events: \(error.localizedDescription)")
            throw ExitCode(2)
        }
        output.flush()
        if rejected > 0 { throw ExitCode(1) }
    }
}

enum RuleMatchingOption: String, ExpressibleByArgument, CaseIterable {
    case first, all
    var value: RuleMatching { self == .first ? .first : .all }
}

/// Buffered JSON lines on stdout.
final class AlertWriter {
    private var buffer: [UInt8] = []

    func write(_ alert: Alert) {
        buffer.append(contentsOf: AlertEncoder.json(alert).utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count > 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
