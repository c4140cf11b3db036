import Foundation
import Kafka
import Logging
import MetricsTestKit
import Outputs
import Rules
import Settings
import TestSupport

/// A delivery policy over a real dead-letter topic (a dev cluster) with metrics a test can read.
final class PolicyHarness: @unchecked Sendable {
    let cluster: TestCluster
    let producer: KafkaProducer
    let metrics = TestMetrics()
    let stop = StopSignal()

    init() throws {
        cluster = try TestCluster(brokers: 1, partitions: 4)
        producer = try KafkaProducer(configuration: cluster.configuration())
    }

    deinit { producer.close() }

    func policy(_ output: any AlertOutput, _ settings: OutputSettings) throws -> DeliveryPolicy {
        try DeliveryPolicy(output: output, settings: settings,
                           deadLetters: DeadLetterWriter(producer: producer, topic: cluster.topics.deadLetters,
                                                         logger: Logger(label: "test")),
                           metrics: OutputMetrics(output: output.name, factory: metrics), stop: stop,
                           logger: Logger(label: "test"))
    }

    /// The value of an output's counter (auditpipe_sink_<name>_total).
    func counter(_ name: String, output: String) -> Int64 {
        (try? metrics.expectCounter("auditpipe_sink_\(name)_total", [("output", output)]).totalValue) ?? 0
    }

    func deadLetters(count: Int) throws -> [KafkaMessage] {
        try cluster.read(cluster.topics.deadLetters, count: count)
    }

    static func settings(_ name: String, type: String = "test", _ change: (inout OutputSettings) -> Void = { _ in }) -> OutputSettings {
        var settings = OutputSettings(name: name, type: type)
        settings.retry.initialBackoff = ConfigDuration(.milliseconds(10))
        settings.retry.maxBackoff = ConfigDuration(.milliseconds(50))
        change(&settings)
        return settings
    }

    static func outputAlert(_ alert: Alert) -> OutputAlert {
        OutputAlert(json: Array(AlertEncoder.json(alert).utf8), alert: alert, key: Array(alert.cluster.utf8))
    }

    static func items(_ alerts: [Alert]) -> [DeliveryItem] {
        alerts.map { .alert(outputAlert($0)) }
    }
}

/// An output whose answers a test scripts, attempt by attempt (success once the script runs out),
/// recording every batch it was handed. The policy's collaborator in its own tests; the real
/// outputs have tests of their own.
actor ScriptedOutput: AlertOutput {
    nonisolated let name: String
    nonisolated let maxBatchSize: Int
    private var script: [DeliveryFailure?]
    private let refusedIDs: Set<String>
    private let delay: Duration
    private(set) var attempts: [[OutputAlert]] = []
    private(set) var delivered: [OutputAlert] = []
    private(set) var attemptTimes: [ContinuousClock.Instant] = []

    init(name: String = "scripted", maxBatchSize: Int = 1, script: [DeliveryFailure?] = [], refusing refusedIDs: Set<String> = [],
         delay: Duration = .zero) {
        self.name = name
        self.maxBatchSize = maxBatchSize
        self.script = script
        self.refusedIDs = refusedIDs
        self.delay = delay
    }

    func deliver(_ alerts: [OutputAlert]) async throws {
        attempts.append(alerts)
        attemptTimes.append(.now)
        if delay > .zero { try await Task.sleep(for: delay) }
        if !script.isEmpty, let failure = script.removeFirst() { throw failure }
        if let refused = alerts.first(where: { refusedIDs.contains($0.alert.id) }) {
            throw DeliveryFailure.permanent("refused \(refused.alert.id)")
        }
        delivered += alerts
    }

    func shutdown() async {}
}
