import FalcoOutputsAPI
import GRPCCore
import Logging

/// Falco's `falco.outputs.service`, served from an `AlertFanOut`:
///
/// - `sub`: first the alerts waiting in the backlog, then every alert as it is delivered, for as long
///   as the client keeps its request stream open (Falco's clients send a request now and then;
///   they are read and need no answer). The call ends when the client half-closes or leaves, with
///   RESOURCE_EXHAUSTED when the client fell too far behind, and with UNAVAILABLE at shutdown.
/// - `get`: the alerts waiting in the backlog, then the call ends.
struct FalcoOutputsService: Falco_Outputs_service.SimpleServiceProtocol {
    typealias FanOut = AlertFanOut<Falco_Outputs_response>

    let fanOut: FanOut
    let observer: GRPCOutputObserver

    func sub(request: RPCAsyncSequence<Falco_Outputs_request, any Error>,
             response: RPCWriter<Falco_Outputs_response>,
             context: ServerContext) async throws {
        guard let subscription = fanOut.subscribe() else { throw Self.shuttingDown }
        observer.subscribed(peer: context.remotePeer, backlog: subscription.backlog.count)
        defer {
            fanOut.unsubscribe(subscription)
            observer.unsubscribed(peer: context.remotePeer, end: subscription.end)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The request stream holds the subscription open; its messages carry nothing.
            group.addTask {
                for try await _ in request {}
            }
            group.addTask {
                try await send(subscription.backlog, to: response)
                for await alert in subscription.alerts {
                    try await response.write(alert)
                }
                switch subscription.end {
                case .tooSlow(let buffered):
                    throw RPCError(code: .resourceExhausted, message: """
                        this subscriber fell \(buffered) alerts behind and was disconnected so that it does \
                        not hold up the others; alerts delivered from then on until it reconnects are not \
                        sent to it
                        """)
                case .shutdown:
                    throw Self.shuttingDown
                case nil:
                    return
                }
            }
            // Whichever ends first ends the call: the client half-closed or left, or the server ended it.
            _ = try await group.next()
            group.cancelAll()
        }
    }

    func get(request: Falco_Outputs_request,
             response: RPCWriter<Falco_Outputs_response>,
             context: ServerContext) async throws {
        let alerts = fanOut.takeBacklog()
        try await send(alerts, to: response)
        observer.got(peer: context.remotePeer, count: alerts.count)
    }

    /// Writes backlog alerts; those the client could not take go back to the backlog for the next one.
    private func send(_ alerts: [Falco_Outputs_response], to response: RPCWriter<Falco_Outputs_response>) async throws {
        var sent = 0
        do {
            for alert in alerts {
                try await response.write(alert)
                sent += 1
            }
        } catch {
            observer.restored(dropped: fanOut.restore(alerts[sent...]))
            throw error
        }
    }

    private static let shuttingDown = RPCError(code: .unavailable, message: "auditpipe's grpc output is shutting down; reconnect later")
}
