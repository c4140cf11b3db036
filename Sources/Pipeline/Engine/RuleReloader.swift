import Foundation
import Logging
import Rules
import UnixSignals

/// Reloads the rules on SIGHUP and when a rules file changes. The new set is loaded and validated
/// completely before it replaces the old one; when it does not load, the old set stays in force and
/// every problem is logged as FILE:LINE:COL: message.
final class RuleReloader: Sendable {
    private let files: [String]
    private let matching: RuleMatching
    private let rules: CurrentRuleSet
    private let watchInterval: Duration?
    private let metrics: EngineMetrics
    private let logger: Logger

    init(files: [String], matching: RuleMatching, rules: CurrentRuleSet, watchInterval: Duration?,
         metrics: EngineMetrics, logger: Logger) {
        self.files = files
        self.matching = matching
        self.rules = rules
        self.watchInterval = watchInterval
        self.metrics = metrics
        self.logger = logger
    }

    /// Serves SIGHUP and watches the files until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            group.addTask {
                for await _ in hangups { self.reload(because: "SIGHUP") }
            }
            if let watchInterval {
                group.addTask { await self.watch(every: watchInterval) }
            }
            await group.waitForAll()
        }
    }

    private func watch(every interval: Duration) async {
        var seen = contents()
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let now = contents()
            guard now != seen else { continue }
            seen = now
            reload(because: "rules file changed")
        }
    }

    /// The files' bytes (nil for a file that cannot be read): a change of any is a reason to reload.
    private func contents() -> [Data?] {
        files.map { FileManager.default.contents(atPath: $0) }
    }

    /// Loads the files; replaces the rules in force if they load, keeps them otherwise. True if replaced.
    @discardableResult
    func reload(because trigger: String) -> Bool {
        let old = rules.ruleSet
        do {
            let ruleSet = try RuleSet.load(files: files, matching: matching)
            for warning in ruleSet.warnings { logger.warning("\(warning.description)") }
            rules.replace(with: ruleSet)
            metrics.reloadsSucceeded.increment()
            metrics.loadedRules.record(ruleSet.statistics.rules)
            logger.notice("rules reloaded", metadata: [
                "trigger": "\(trigger)", "version": "\(ruleSet.version)", "previous_version": "\(old.version)",
                "rules": "\(ruleSet.statistics.rules)",
            ])
            return true
        } catch let error as RulesLoadError {
            metrics.reloadsFailed.increment()
            logger.error("rules not reloaded: keeping the rules in force", metadata: [
                "trigger": "\(trigger)", "version": "\(old.version)", "problems": "\(error.diagnostics.count)",
            ])
            for diagnostic in error.diagnostics { logger.error("\(diagnostic.description)") }
            return false
        } catch {
            metrics.reloadsFailed.increment()
            logger.error("rules not reloaded: keeping the rules in force",
                         metadata: ["trigger": "\(trigger)", "version": "\(old.version)", "error": "\(error)"])
            return false
        }
    }
}
