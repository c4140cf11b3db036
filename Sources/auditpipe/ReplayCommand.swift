import ArgumentParser
import Foundation
import Pipeline
import Rules

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run rules over a time range of the raw topic's history, without touching the live pipeline.",
        discussion: """
            Reads k8s-audit.raw from --from to --to (default: the newest event when the replay starts) with \
            partitions assigned to a consumer that commits nothing: the engine's group and offsets stay as they \
            are. Events are selected by their stageTimestamp. Alerts are the engine's (same JSON, same ids) and \
            go to stdout as JSON lines, a file, or a topic (default k8s-audit.alerts.replay; the live alerts \
            topic only with --allow-live-topic). With --summary or --diff and no --output, the report alone is \
            printed. Progress goes to stderr. Exit status: 0 done; 1 Kafka unreachable, a missing topic, nothing \
            in the range, or alerts not written; 2 a usage or rules error.
            """
    )

    @OptionGroup var stage: StageOptions

    // Unconditional: `--from -7d` is a value, not an option.
    @Option(parsing: .unconditional, help: "Start of the range: RFC 3339 (2026-11-20T08:00:00Z) or relative to now (-24h, -7d, -30m).")
    var from: String

    @Option(parsing: .unconditional, help: "End of the range (exclusive), in the same forms (default: the newest event at the start).")
    var to: String?

    @Option(name: .long, help: "A rules file; repeat to load several, in order (default: the config's engine.rules).")
    var rules: [String] = []

    @Option(name: .long, help: "first: only the first matching rule per event, as Falco; all: every matching rule.")
    var ruleMatching: RuleMatchingOption?

    @Option(name: .long, help: "Only events of this cluster (the ingress's cluster name); repeat for several.")
    var cluster: [String] = []

    @Option(help: "stdout, file:PATH or topic[:NAME] (topic alone: \(ReplayTarget.defaultTopic)).")
    var output: String?

    @Flag(help: "Allow --output topic:NAME to be the live alerts topic (the sink then delivers replayed alerts again).")
    var allowLiveTopic = false

    @Flag(help: "At the end, print alerts per rule with the first and last time seen.")
    var summary = false

    @Flag(help: "With the summary, one row per rule and cluster.")
    var byCluster = false

    @Option(name: .long, help: "Old rules file(s) to compare with: which rules fire more or less, new and removed rules.")
    var diff: [String] = []

    @Option(help: "Evaluation threads (default: one per core).")
    var workers: Int?

    @Option(help: "Seconds between progress lines when stderr is not a terminal.")
    var progressInterval: Double = 10

    @Option(help: "Seconds the brokers get to answer before the replay gives up.")
    var brokerTimeout: Int = 10

    func validate() throws {
        if ReplayTime.parse(from) == nil { throw ValidationError(ReplayTime.problem(from, option: "--from")) }
        if let to, ReplayTime.parse(to) == nil { throw ValidationError(ReplayTime.problem(to, option: "--to")) }
        if let output, ReplayTarget(parsing: output) == nil {
            throw ValidationError("--output '\(output)' is not stdout, file:PATH, topic or topic:NAME")
        }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if progressInterval <= 0 { throw ValidationError("--progress-interval must be more than 0") }
        if brokerTimeout < 1 { throw ValidationError("--broker-timeout must be at least 1 second") }
    }

    func run() throws {
        var config = try stage.resolve()
        if !rules.isEmpty { config.engine.rules = rules }
        if let ruleMatching { config.engine.ruleMatching = ruleMatching.value }
        guard !config.engine.rules.isEmpty else { return try usage("no rules: give --rules FILE (or engine.rules in the config file)") }
        guard !config.kafka.brokers.isEmpty else {
            return try usage("no Kafka brokers: give --brokers HOST:PORT (or AUDITPIPE_BROKERS, or kafka.brokers in the config file)")
        }
        let now = ReplayTime.currentNanoseconds()
        let range = ReplayRange(from: ReplayTime.parse(from, now: now)!, to: to.map { ReplayTime.parse($0, now: now)! })
        let reporting = summary || byCluster || !diff.isEmpty
        let target = output.flatMap(ReplayTarget.init(parsing:)) ?? (reporting ? nil : .stdout)
        do {
            try target?.check(against: config.topics, allowLiveTopic: allowLiveTopic)
        } catch {
            return try usage(error.description)
        }
        PipelineLogging.bootstrap(level: config.loggerLevel)
        guard let ruleSet = RulesLoading.load(config.engine.rules, matching: config.engine.ruleMatching) else { throw ExitCode(2) }
        var previous: RuleSet?
        if !diff.isEmpty {
            guard let old = RulesLoading.load(diff, matching: config.engine.ruleMatching) else { throw ExitCode(2) }
            previous = old
        }

        var request = ReplayRequest(kafka: config.kafka, topics: config.topics, range: range, rules: ruleSet)
        request.previousRules = previous
        request.clusters = cluster
        request.target = target
        request.workers = workers ?? config.engine.workers
        request.brokerTimeout = .seconds(brokerTimeout)
        let replayer = Replayer(request: request, logger: PipelineLogging.logger("auditpipe.replay", level: config.loggerLevel))
        let reporter = ReplayProgressReporter(progress: replayer.progress, interval: .milliseconds(Int(progressInterval * 1000)))
        reporter.start()
        let report: ReplayReport
        do {
            report = try replayer.run()
            reporter.stop()
        } catch let error as ReplayError {
            reporter.stop()
            StandardError.print("auditpipe replay: \(error)")
            throw ExitCode(1)
        }
        // The report goes to stdout unless the alerts do.
        let reportHandle = target == .stdout ? FileHandle.standardError : FileHandle.standardOutput
        let show: (String) -> Void = { reportHandle.write(Data($0.utf8)) }
        if summary || byCluster { show(ReplaySummaryTable.render(report.tally, byCluster: byCluster)) }
        if let previous, let old = report.previousTally {
            if summary || byCluster { show("\n") }
            show(ReplayDiffTable.render(old: old, new: report.tally, oldRules: previous.ruleNames, newRules: ruleSet.ruleNames))
        }
        StandardError.print(closingLine(report, target: target))
    }

    private func closingLine(_ report: ReplayReport, target: ReplayTarget?) -> String {
        var parts = ["\(report.evaluated) events evaluated"]
        if report.outsideRange > 0 { parts.append("\(report.outsideRange) outside the range") }
        if report.otherClusters > 0 { parts.append("\(report.otherClusters) of other clusters") }
        if report.rejected > 0 {
            parts.append("\(report.rejected) not audit events (first: \(report.firstRejection ?? "?"))")
        }
        let rate = report.seconds > 0 ? Int((Double(report.eventsRead) / report.seconds).rounded()) : 0
        let destination = target.map { " to \($0)" } ?? ""
        return "auditpipe replay: \(report.eventsRead) events read in \(String(format: "%.1f", report.seconds)) s "
            + "(\(rate)/s): \(parts.joined(separator: ", ")); \(report.alerts) alerts\(destination)"
    }

    private func usage(_ message: String) throws {
        StandardError.print("auditpipe replay: \(message)")
        throw ExitCode(2)
    }
}
