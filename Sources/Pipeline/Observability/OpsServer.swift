import Hummingbird
import Settings
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The operational endpoints on a port of their own, for stages that serve no other HTTP
/// (engine, sink). Runs as a service until graceful shutdown.
public final class OpsServer: Service, Sendable {
    private let address: ListenAddress
    private let metrics: PipelineMetrics
    private let readiness: @Sendable () async -> Readiness
    private let logger: Logger
    private let boundPort = Mutex<Int?>(nil)
    private let started = AsyncStream<Int>.makeStream()

    public init(address: ListenAddress, metrics: PipelineMetrics, logger: Logger,
                readiness: @escaping @Sendable () async -> Readiness) {
        self.address = address
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
    }

    /// The port actually listened on (useful when the configured port is 0); waits until bound.
    public func port() async -> Int? {
        if let port = boundPort.withLock({ $0 }) { return port }
        for await port in started.stream { return port }
        return boundPort.withLock { $0 }
    }

    public func run() async throws {
        let router = Router()
        OpsRoutes.add(to: router, metrics: metrics, readiness: readiness)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? address.port
                boundPort.withLock { $0 = port }
                started.continuation.yield(port)
                started.continuation.finish()
                logger.info("serving /healthz, /readyz and /metrics", metadata: ["address": "\(address.host):\(port)"])
            },
            logger: logger
        )
        try await app.run()
        started.continuation.finish()
    }
}
