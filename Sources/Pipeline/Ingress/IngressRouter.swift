import Hummingbird
import NIOCore

/// A request's context: Hummingbird's, plus the connection (for the peer's address and client certificate).
struct IngressRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The ingress's routes: the webhook, and the operational endpoints on the same port.
enum IngressRouter {
    static func make(endpoint: WebhookEndpoint, metrics: PipelineMetrics,
                     readiness: @escaping @Sendable () async -> Readiness) -> Router<IngressRequestContext> {
        let router = Router(context: IngressRequestContext.self)
        router.post("/k8s-audit") { request, context in
            await endpoint.handle(request, context: context, pathCluster: nil)
        }
        router.post("/k8s-audit/:cluster") { request, context in
            await endpoint.handle(request, context: context, pathCluster: context.parameters.get("cluster") ?? "")
        }
        OpsRoutes.add(to: router, metrics: metrics, readiness: readiness)
        return router
    }
}
