import ArgumentParser
import Dispatch
import Foundation
import Kafka
import Pipeline

struct KafkaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Kafka helpers.",
        subcommands: [KafkaDevCommand.self]
    )
}

struct KafkaDevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run an embedded Kafka cluster (librdkafka's mock brokers on loopback) with the pipeline's topics.",
        discussion: """
            Prints one line, `bootstrap: host:port,...`, then serves until SIGINT or SIGTERM. Any Kafka client \
            (kcat, the other auditpipe stages) can connect. Data is kept in memory only, and only the last few MB \
            of each partition: for development and tests, not production.
            """
    )

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(help: "Partitions of each pipeline topic.")
    var partitions: Int = 6

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 16") }
        guard (1...1024).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 1024") }
    }

    func run() throws {
        let cluster = try MockKafkaCluster(brokers: brokers, topics: PipelineTopics(), partitions: partitions)
        // The one replays write to by default, too.
        try cluster.createTopic(ReplayTarget.defaultTopic, partitions: partitions, replicationFactor: min(3, brokers))
        // Written straight to the descriptor: whoever started us is waiting for this line.
        let line = Array("bootstrap: \(cluster.bootstrapServers)\n".utf8)
        _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        StandardError.print("auditpipe kafka dev: \(brokers) in-memory brokers; data is not persisted. Ctrl-C stops.")
        SignalWaiter.waitForTermination()
        withExtendedLifetime(cluster) {}
    }
}

/// Blocks until SIGINT or SIGTERM arrives.
enum SignalWaiter {
    static func waitForTermination() {
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        sources.forEach { $0.cancel() }
    }
}
