import ArgumentParser
import Foundation
import Rules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Work with rules files.",
        subcommands: [ValidateRulesCommand.self, FieldsCommand.self]
    )
}

struct ValidateRulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Load rules files as `check` and `engine` would; print every problem as FILE:LINE:COL: message.",
        discussion: "Exit status: 0 when the rules load (warnings may be printed), 2 when they do not."
    )

    @Argument(help: "Rules files, loaded in the order given (later files append to and override earlier ones).")
    var files: [String]

    func run() throws {
        guard let ruleSet = RulesLoading.load(files, matching: .first) else { throw ExitCode(2) }
        let stats = ruleSet.statistics
        var summary = "\(files.joined(separator: ", ")): \(stats.rules) rules"
        if stats.disabledRules > 0 { summary += " (\(stats.disabledRules) disabled, not counted)" }
        summary += ", \(stats.macros) macros, \(stats.lists) lists"
        let skipped = stats.skipped.values.reduce(0, +)
        summary += skipped == 0 ? ", no rules of other sources" :
            ", \(skipped) rules of other sources skipped (" + stats.skipped.sorted { $0.key < $1.key }
                .map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
        print(summary)
    }
}

struct FieldsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fields",
        abstract: "List the fields conditions and outputs can use."
    )

    func run() throws {
        for line in FieldList.lines() { print(line) }
    }
}

/// Loading rules for a command: problems go to stderr as FILE:LINE:COL: message.
enum RulesLoading {
    static func load(_ files: [String], matching: RuleMatching) -> RuleSet? {
        do {
            let ruleSet = try RuleSet.load(files: files, matching: matching)
            for warning in ruleSet.warnings { StandardError.print(warning.description) }
            return ruleSet
        } catch let error as RulesLoadError {
            for diagnostic in error.diagnostics { StandardError.print(diagnostic.description) }
            return nil
        } catch {
            StandardError.print("\(error)")
            return nil
        }
    }
}

enum StandardError {
    static func print(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
