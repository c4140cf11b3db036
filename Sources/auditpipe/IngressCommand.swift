import ArgumentParser
import Foundation
import Logging
import Pipeline
import ServiceLifecycle
import Settings

struct IngressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress",
        abstract: "Receive kube-apiservers' audit webhooks and publish each event to Kafka.",
        discussion: """
            Serves POST /k8s-audit and /k8s-audit/<cluster> (an EventList, a single Event, or gzip of either) and \
            answers 200 once Kafka acknowledged every event; 503 or 429 with Retry-After when Kafka is down or the \
            ingress is full, so the apiserver resends. Also GET /healthz, /readyz and /metrics. TLS, mTLS and \
            bearer tokens come from the ingress section of the config file. SIGTERM or SIGINT stop it gracefully: \
            no new connections, requests in flight finish, the producer is flushed.
            """
    )

    @OptionGroup var stage: StageOptions

    @OptionGroup var listen: ListenOption

    func run() async throws {
        var config = try stage.resolve()
        if let address = listen.address { config.ingress.listen = address }
        guard !config.kafka.brokers.isEmpty else {
            StandardError.print("auditpipe ingress: no Kafka brokers: give --brokers, AUDITPIPE_BROKERS or kafka.brokers")
            throw ExitCode(2)
        }
        PipelineLogging.bootstrap(level: config.loggerLevel)
        let logger = PipelineLogging.logger("auditpipe.ingress", level: config.loggerLevel)
        let server: IngressServer
        do {
            server = try IngressServer(settings: config.ingress, kafka: config.kafka, topics: config.topics,
                                       metrics: PipelineMetrics(), logger: logger)
        } catch {
            StandardError.print("auditpipe ingress: \(error)")
            throw ExitCode(2)
        }
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
    }
}
