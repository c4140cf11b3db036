import ArgumentParser
import Foundation

@main
struct Auditpipe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auditpipe",
        abstract: "Kubernetes audit events through Kafka to security alerts, with Falco's rules.",
        subcommands: [CheckCommand.self, RulesCommand.self, KafkaCommand.self, IngressCommand.self, EngineCommand.self,
                      SinkCommand.self, ReplayCommand.self, ProbeCommand.self, RunCommand.self, LoadgenCommand.self]
    )

    /// Usage errors exit with 2 (DESIGN.md's contract), not ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                StandardError.print(fullMessage(for: error))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
