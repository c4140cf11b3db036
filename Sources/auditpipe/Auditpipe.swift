import ArgumentParser

@main
struct Auditpipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auditpipe",
        abstract: "Kubernetes audit events through Kafka to security alerts, with Falco's rules.",
        subcommands: [CheckCommand.self, RulesCommand.self]
    )
}
