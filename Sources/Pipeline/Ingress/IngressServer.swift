import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Kafka
import Logging
import Settings
import NIOCore
import ServiceLifecycle
import Synchronization

/// The ingress stage: kube-apiservers' audit webhooks in, audit events out to Kafka. A ServiceLifecycle
/// service: on graceful shutdown it stops accepting connections, lets requests in flight finish (each waits at
/// most produce_timeout for Kafka), then flushes the producer.
public final class IngressServer: Service, Sendable {
    private let settings: IngressSettings
    private let producer: KafkaProducer
    private let readiness: KafkaReadiness
    private let endpoint: WebhookEndpoint
    private let metrics: PipelineMetrics
    private let tls: TLSConfiguration?
    private let tokens: TokenFile?
    private let logger: Logger
    private let boundPort = Mutex<Int?>(nil)
    private let started = AsyncStream<Int>.makeStream()

    /// Checks the settings and opens the Kafka clients; fails with a message naming the problem
    /// (an unreadable certificate or tokens file, a wrong librdkafka setting).
    public init(settings: IngressSettings, kafka: KafkaSettings, topics: PipelineTopics, metrics: PipelineMetrics,
                logger: Logger) throws {
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        let ingressMetrics = IngressMetrics(factory: metrics.factory)
        producer = try KafkaProducer(configuration: Self.producerConfiguration(kafka, settings))
        readiness = KafkaReadiness(admin: try KafkaAdmin(configuration: kafka.clientConfiguration))
        tls = try settings.tls.map(IngressTLS.configuration)
        let tokens = try settings.auth.tokensFile.map { path in
            try TokenFile(path: path, logger: logger) { ingressMetrics.tokenReloadFailures.increment() }
        }
        self.tokens = tokens
        let gauge = ingressMetrics.inflightBytes
        endpoint = WebhookEndpoint(
            settings: settings, producer: producer,
            limiter: InFlightLimiter(limit: settings.maxInflightBytes.bytes) { gauge.record($0) },
            authenticator: ClusterAuthenticator(tokens: tokens, clientCertificates: settings.auth.clientCert,
                                                defaultCluster: settings.defaultCluster),
            builders: AuditRecordBuilderPool(topics: topics, maxEventSize: settings.maxEventSize.bytes),
            metrics: ingressMetrics, logger: logger)
    }

    /// The ingress's producer settings: the configured `kafka:` ones, with defaults that keep its promises.
    /// Messages expire with produce_timeout (a request answered 503 does not leave them queued for long), and
    /// the producer's queue holds at least what max_inflight_bytes lets in (so the in-flight limit, not
    /// librdkafka's queue, is what pushes back).
    static func producerConfiguration(_ kafka: KafkaSettings, _ settings: IngressSettings) -> KafkaConfiguration {
        var configuration = kafka.clientConfiguration
        let timeout = WebhookEndpoint.nanoseconds(settings.produceTimeout.duration) / 1_000_000
        configuration["message.timeout.ms"] = kafka.settings["message.timeout.ms"] ?? "\(max(timeout, 1))"
        configuration["queue.buffering.max.kbytes"] = kafka.settings["queue.buffering.max.kbytes"]
            ?? "\(max(1_048_576, 2 * settings.maxInflightBytes.bytes / 1024))"
        configuration["queue.buffering.max.messages"] = kafka.settings["queue.buffering.max.messages"] ?? "2000000"
        return configuration
    }

    /// The port listened on (useful with port 0); waits until the server is bound.
    public func port() async -> Int? {
        if let port = boundPort.withLock({ $0 }) { return port }
        for await port in started.stream { return port }
        return boundPort.withLock { $0 }
    }

    public func run() async throws {
        let router = IngressRouter.make(endpoint: endpoint, metrics: metrics) { [readiness] in await readiness.check() }
        let scheme = tls == nil ? "http" : "https"
        let http: HTTPServerBuilder = .http1(configuration: .init(idleTimeout: idle))
        let server = try tls.map { try HTTPServerBuilder.tls(http, tlsConfiguration: $0) } ?? http
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(settings.listen.host, port: settings.listen.port), serverName: nil,
                                 backlog: 1024),
            services: tokens.map { [$0] } ?? [],
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? settings.listen.port
                boundPort.withLock { $0 = port }
                started.continuation.yield(port)
                started.continuation.finish()
                let address = ListenAddress(host: settings.listen.host, port: port)
                let auth = endpoint.authenticator.isEnabled ? "on" : "off"
                logger.info("""
                    ingress listening on \(scheme)://\(address): POST /k8s-audit and /k8s-audit/<cluster>; \
                    GET /healthz, /readyz, /metrics (auth \(auth))
                    """)
            },
            logger: logger)
        defer { started.continuation.finish() }
        do {
            try await app.run()
        } catch {
            shutDownProducer()
            throw error
        }
        shutDownProducer()
    }

    private var idle: TimeAmount { .nanoseconds(WebhookEndpoint.nanoseconds(settings.idleTimeout.duration)) }

    /// Requests have finished: deliver what the producer still holds. Every request answered 200 was
    /// acknowledged already, so what is left belongs to requests answered 503, which the apiservers resend.
    private func shutDownProducer() {
        let flushed = producer.flush(timeout: settings.produceTimeout.duration)
        let left = producer.queuedCount
        producer.close(timeout: .zero)
        if flushed {
            logger.info("ingress stopped; every event was acknowledged by Kafka")
        } else {
            logger.warning("ingress stopped with \(left) events not acknowledged by Kafka (their requests were answered 503)")
        }
    }
}
