import Hummingbird

/// Whether a stage can do its work now (its Kafka cluster answers, its rules are loaded, …).
public enum Readiness: Sendable, Equatable {
    case ready
    case notReady(String)
}

/// The operational endpoints every stage serves: `/healthz` (the process answers),
/// `/readyz` (it can do its work: 200, or 503 with the reason) and `/metrics` (Prometheus).
public enum OpsRoutes {
    public static func add<Context: RequestContext>(to router: Router<Context>, metrics: PipelineMetrics,
                                                    readiness: @escaping @Sendable () async -> Readiness) {
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, _ in
            switch await readiness() {
            case .ready:
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
            case .notReady(let reason):
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "not ready: \(reason)\n")))
            }
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }
}
