import FalcoOutputsAPI
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import NIOPosix
import NIOSSL
import Settings

/// What the `grpc` output does with an alert that no client takes while its backlog is full.
public enum GRPCBacklogPolicy: String, Decodable, Sendable {
    /// The oldest waiting alert gives way (counted in auditpipe_grpc_alerts_dropped_total and logged):
    /// a live stream's clients want recent alerts.
    case dropOldest = "drop_oldest"
    /// The batch fails as a transient delivery failure: the delivery policy retries it (the alerts
    /// wait in Kafka) and dead-letters it past the retry budget, so clients that poll with `get`
    /// lose nothing as long as they drain the backlog in time.
    case reject
}

/// Falco's gRPC outputs service (`falco.outputs.service`, `sub` and `get`), so that the clients
/// written for Falco — falcoctl, client-go, client-py, client-rs, falco-exporter — subscribe to
/// auditpipe's alerts unchanged:
///
/// ```yaml
/// sink:
///   outputs:
///     - name: falco-grpc
///       type: grpc
///       listen: 0.0.0.0:5060            # or unix:///run/auditpipe/falco.sock
///       tls:                            # optional; Falco's grpc server config in auditpipe's words
///         cert_file: /etc/auditpipe/grpc/server.crt    # Falco's cert_chain
///         key_file: /etc/auditpipe/grpc/server.key     # Falco's private_key
///         ca_file: /etc/auditpipe/grpc/ca.crt          # Falco's root_certs: clients must present a certificate it signed (mTLS)
///       backlog: 10000                  # alerts kept while no client is subscribed
///       subscriber_buffer: 10000        # alerts a subscriber may fall behind before it is disconnected
///       when_backlog_full: drop_oldest  # or reject
/// ```
///
/// Every delivered alert goes to every `sub` stream. While nobody is subscribed, alerts wait in a
/// bounded backlog, which the next `get` (or the next `sub`) takes, as Falco's queue does. A client
/// that falls `subscriber_buffer` alerts behind is disconnected (RESOURCE_EXHAUSTED) rather than
/// slowing delivery: `deliver` never waits for a client.
public final class GRPCOutput: AlertOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "grpc"
        /// Falco's default gRPC port on every interface.
        public var listen = GRPCListenAddress.tcp(ListenAddress(host: "0.0.0.0", port: 5060))
        public var backlog = 10_000
        public var subscriberBuffer = 10_000
        public var whenBacklogFull = GRPCBacklogPolicy.dropOldest

        public init() {}

        enum CodingKeys: String, CodingKey {
            case listen, backlog, subscriberBuffer, whenBacklogFull, tls
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            listen = try container.decodeIfPresent(GRPCListenAddress.self, forKey: .listen) ?? listen
            backlog = try container.decodeIfPresent(Int.self, forKey: .backlog) ?? backlog
            guard backlog >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .backlog, in: container, debugDescription: "backlog must be 0 or more alerts")
            }
            subscriberBuffer = try container.decodeIfPresent(Int.self, forKey: .subscriberBuffer) ?? subscriberBuffer
            guard subscriberBuffer >= 1 else {
                throw DecodingError.dataCorruptedError(forKey: .subscriberBuffer, in: container,
                                                       debugDescription: "subscriber_buffer must be at least 1 alert")
            }
            whenBacklogFull = try container.decodeIfPresent(GRPCBacklogPolicy.self, forKey: .whenBacklogFull) ?? whenBacklogFull
            // The common `tls` settings are the server's here; what only a client can do is refused where it is written.
            if let tls = try container.decodeIfPresent(TLSSettings.self, forKey: .tls) {
                if tls.insecureSkipVerify {
                    throw DecodingError.dataCorruptedError(
                        forKey: .tls, in: container,
                        debugDescription: "insecure_skip_verify does not apply to the grpc output: it is a server (cert_file and key_file are its certificate, ca_file verifies clients)")
                }
                if tls.caFile != nil, tls.certFile == nil {
                    throw DecodingError.dataCorruptedError(
                        forKey: .tls, in: container,
                        debugDescription: "ca_file (verifying clients) needs cert_file and key_file, the server's certificate")
                }
            }
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            try GRPCOutput(name: common.name, configuration: self, tls: common.tls, context: context)
        }
    }

    /// Why the output could not start.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    typealias FanOut = AlertFanOut<Falco_Outputs_response>

    public let name: String
    public let maxBatchSize: Int
    /// Where clients connect (with the real port when 0 was configured).
    public let address: GRPCListenAddress
    private let fanOut: FanOut
    private let observer: GRPCOutputObserver

    /// Clients subscribed now (`sub` calls in progress).
    public var subscriberCount: Int { fanOut.subscriberCount }
    /// Alerts waiting for a `get` or the next `sub`.
    public var backlogCount: Int { fanOut.backlogCount }
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let transport: HTTP2ServerTransport.Posix
    private let serving: Task<Void, Never>
    private let logger: Logger

    /// Binds the address and starts serving at once (clients may subscribe before the first alert).
    public init(name: String, configuration: Configuration, tls: TLSSettings, context: OutputContext) throws {
        let security = try Self.transportSecurity(tls, output: name)
        let listener: BoundListener
        do {
            listener = try BoundListener.bind(configuration.listen)
        } catch {
            throw SetupError(description: "grpc output '\(name)': \(error)")
        }
        var logger = context.logger
        logger[metadataKey: "output"] = "\(name)"
        let fanOut = FanOut(limits: .init(backlogCapacity: configuration.backlog, subscriberBuffer: configuration.subscriberBuffer,
                                          whenBacklogFull: configuration.whenBacklogFull))
        let observer = GRPCOutputObserver(output: name, fanOut: fanOut, logger: context.logger, metrics: context.metrics)
        let transport = HTTP2ServerTransport.Posix(
            listeningSocketDescriptor: Int(listener.descriptor), transportSecurity: security,
            eventLoopGroup: context.eventLoopGroup as? MultiThreadedEventLoopGroup ?? .singletonMultiThreadedEventLoopGroup)
        let server = GRPCServer(transport: transport, services: [FalcoOutputsService(fanOut: fanOut, observer: observer)])
        let serverLogger = logger
        self.name = name
        // A batch is handed to a subscriber at once, so it must fit in its buffer (and in the backlog when refusing).
        maxBatchSize = max(1, min(1000, configuration.subscriberBuffer, configuration.backlog))
        address = listener.address
        self.fanOut = fanOut
        self.observer = observer
        self.server = server
        self.transport = transport
        self.logger = logger
        serving = Task {
            do {
                try await server.serve()
            } catch {
                serverLogger.error("gRPC server stopped: \(error)")
            }
        }
        let mode = tls.certFile == nil ? "" : tls.caFile == nil ? " (TLS)" : " (mTLS)"
        logger.info("serving Falco's gRPC outputs service on \(address)\(mode)")
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        let responses = alerts.map { Falco_Outputs_response($0.alert) }
        do {
            observer.published(try fanOut.publish(responses))
        } catch {
            throw DeliveryFailure.transient(
                "no gRPC client is subscribed and the backlog of \(error.capacity) alerts is full (when_backlog_full: reject)",
                retryAfter: .seconds(1))
        }
    }

    /// Ends every subscription (UNAVAILABLE, so clients reconnect elsewhere or later), stops
    /// accepting calls, and gives calls in flight a few seconds before closing their connections.
    public func shutdown() async {
        fanOut.close()
        // Once listening, the server owns the socket and closes it; stopping it before it started
        // serving would leave the socket open (and make `serve` fail).
        _ = try? await transport.listeningAddress
        server.beginGracefulShutdown()
        let serving = self.serving
        let stoppedInTime = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await serving.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            let first = await group.next() ?? true
            group.cancelAll()
            return first
        }
        if !stoppedInTime {
            logger.warning("gRPC calls did not end within 5s of shutdown; closing their connections")
            serving.cancel()
            await serving.value
        }
        observer.flushLossLog()
    }

    /// TLS from the common `tls` settings, read now so that a missing or bad file stops the output
    /// from starting (with the file named) instead of failing each client's handshake.
    private static func transportSecurity(_ tls: TLSSettings, output: String) throws -> HTTP2ServerTransport.Posix.TransportSecurity {
        guard let certFile = tls.certFile, let keyFile = tls.keyFile else { return .plaintext }
        func check(_ what: String, _ path: String, _ load: () throws -> Void) throws {
            do {
                try load()
            } catch {
                throw SetupError(description: "grpc output '\(output)': cannot use tls.\(what) \(path): \(error)")
            }
        }
        try check("cert_file", certFile) {
            if try NIOSSLCertificate.fromPEMFile(certFile).isEmpty { throw SetupError(description: "no PEM certificate in it") }
        }
        try check("key_file", keyFile) { _ = try NIOSSLPrivateKey(file: keyFile, format: .pem) }
        let chain: [TLSConfig.CertificateSource] = [.file(path: certFile, format: .pem)]
        let key = TLSConfig.PrivateKeySource.file(path: keyFile, format: .pem)
        guard let caFile = tls.caFile else { return .tls(certificateChain: chain, privateKey: key) }
        try check("ca_file", caFile) {
            if try NIOSSLCertificate.fromPEMFile(caFile).isEmpty { throw SetupError(description: "no PEM certificate in it") }
        }
        return .mTLS(certificateChain: chain, privateKey: key) { config in
            config.trustRoots = .certificates([.file(path: caFile, format: .pem)])
        }
    }
}
