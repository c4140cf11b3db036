import FalcoOutputsAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Kafka
import Logging
import Metrics
import NIOPosix
import Outputs
import Prometheus
import Rules
import Settings
import Synchronization
import TestSupport

/// How long the gRPC tests wait for a call to be set up or alerts to arrive: generously, since the
/// whole suite shares two cores, and a test elsewhere blocking the cooperative pool delays every task.
let grpcPatience: Duration = .seconds(120)

/// Real alerts for the gRPC tests: one rule per Falco priority, all firing on one pod creation,
/// evaluated by the rules engine (so output_fields hold what the engine really produces: strings,
/// a list, a missing value, the event time).
enum GRPCTestAlerts {
    static let hostname = "node-7"
    /// 2026-11-26T10:00:00.123456789Z
    static let eventSeconds: Int64 = 1_795_687_200
    static let eventNanos: Int32 = 123_456_789

    static let rules: String = Priority.allCases.map { priority in
        """
        - rule: \(ruleName(priority))
          desc: fires on every pod creation, at priority \(priority.name)
          condition: ka.verb=create and ka.target.resource=pods
          output: pod %ka.target.namespace/%ka.target.name by %ka.user.name images=%ka.req.pod.containers.image as=%ka.impuser.name
          priority: \(priority.name.uppercased())
          source: k8s_audit
          tags: [k8s, \(priority.name.lowercased())]

        """
    }.joined()

    static func ruleName(_ priority: Priority) -> String { "Pod created (\(priority.name))" }

    static func event(auditID: String = "e-1", namespace: String = "web", pod: String = "api-1") -> String {
        """
        {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"\(auditID)",\
        "stage":"ResponseComplete","requestURI":"/api/v1/namespaces/\(namespace)/pods","verb":"create",\
        "user":{"username":"alice","groups":["dev"]},"sourceIPs":["10.0.0.1"],\
        "objectRef":{"resource":"pods","namespace":"\(namespace)","name":"\(pod)","apiVersion":"v1"},\
        "responseStatus":{"code":201},\
        "requestObject":{"kind":"Pod","spec":{"containers":[{"name":"a","image":"nginx:1.27"},{"name":"b","image":"redis:7"}]}},\
        "requestReceivedTimestamp":"2026-11-26T10:00:00.100000000Z","stageTimestamp":"2026-11-26T10:00:00.123456789Z"}
        """
    }

    static let ruleSet: RuleSet = {
        do {
            return try RuleSet.parse(yaml: rules, file: "grpc-test-rules.yaml", matching: .all)
        } catch {
            fatalError("the gRPC tests' rules do not load: \(error)")
        }
    }()

    /// The output fields of every alert of `alerts()`: the rule's, evt.time, and the rules version the engine adds.
    static var outputFields: [String: String] {
        [
            "ka.target.namespace": "web", "ka.target.name": "api-1", "ka.user.name": "alice",
            "ka.req.pod.containers.image": "(nginx:1.27,redis:7)", "ka.impuser.name": "<NA>",
            "evt.time": "1795687200123456789", RuleEvaluator.rulesVersionField: ruleSet.version,
        ]
    }

    /// One alert per priority (most severe first) for one event.
    static func alerts(auditID: String = "e-1", pod: String = "api-1") throws -> [OutputAlert] {
        let evaluator = ruleSet.makeEvaluator(hostname: hostname)
        return try evaluator.evaluate(Array(event(auditID: auditID, pod: pod).utf8), cluster: "prod-eu").map {
            OutputAlert(json: Array(AlertEncoder.json($0).utf8), alert: $0, key: Array("prod-eu".utf8))
        }
    }

    /// `count` distinct alerts (pod names alert-0, alert-1, …), for ordering and volume tests;
    /// `padding` characters more in each pod name make the alerts bigger.
    static func numbered(_ count: Int, from start: Int = 0, padding: Int = 0) throws -> [OutputAlert] {
        let evaluator = ruleSet.makeEvaluator(hostname: hostname)
        let suffix = padding > 0 ? "-" + String(repeating: "x", count: padding) : ""
        return try (start..<(start + count)).map { index in
            let alert = try evaluator.evaluate(Array(event(auditID: "n-\(index)", pod: "alert-\(index)\(suffix)").utf8),
                                               cluster: "prod-eu")[0]
            return OutputAlert(json: Array(AlertEncoder.json(alert).utf8), alert: alert, key: nil)
        }
    }

    /// The number in a numbered alert's pod name.
    static func index(of response: Falco_Outputs_response) -> Int? {
        guard let name = response.outputFields["ka.target.name"], name.hasPrefix("alert-") else { return nil }
        return Int(name.dropFirst("alert-".count).prefix { $0.isNumber })
    }
}

/// What an output needs from the sink, with a Prometheus registry the test can read.
final class GRPCTestEnvironment: Sendable {
    let registry = PrometheusCollectorRegistry()
    let context: OutputContext

    init() {
        var logger = Logger(label: "grpc-output-test")
        logger.logLevel = .warning
        context = OutputContext(eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:9"),
                                logger: logger, metrics: PrometheusMetricsFactory(registry: registry))
    }

    /// Starts a grpc output on a free loopback port (or the address given).
    func output(name: String = "falco-grpc", listen: String = "127.0.0.1:0", backlog: Int = 10_000,
                subscriberBuffer: Int = 10_000, whenBacklogFull: GRPCBacklogPolicy = .dropOldest,
                tls: TLSSettings = TLSSettings()) throws -> GRPCOutput {
        var configuration = GRPCOutput.Configuration()
        configuration.listen = GRPCListenAddress(parsing: listen)!
        configuration.backlog = backlog
        configuration.subscriberBuffer = subscriberBuffer
        configuration.whenBacklogFull = whenBacklogFull
        return try GRPCOutput(name: name, configuration: configuration, tls: tls, context: context)
    }

    /// A metric's value as the registry exposes it (`name{labels} value`), nil when absent.
    func metric(_ name: String, _ labels: String) -> Double? {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let prefix = "\(name){\(labels)} "
        for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count))
        }
        return nil
    }
}

/// A Falco gRPC client made with grpc-swift from the same proto files: what a Swift program written
/// against Falco's API would do.
final class FalcoGRPCClient: Sendable {
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, any Error>
    let outputs: Falco_Outputs_service.Client<HTTP2ClientTransport.Posix>

    /// `window`: the HTTP/2 flow-control window the client grants (grpc-swift's default is 8 MiB).
    init(_ address: GRPCListenAddress, security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
         window: Int? = nil) throws {
        let target: any ResolvableTarget = switch address {
        case .tcp(let tcp): .ipv4(address: tcp.host, port: tcp.port)
        case .unix(let path): .unixDomainSocket(path: path)
        }
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff.initial = .milliseconds(50)
        config.backoff.max = .milliseconds(200)
        if let window { config.http2.targetWindowSize = window }
        let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config))
        self.client = client
        connections = Task { try await client.runConnections() }
        outputs = Falco_Outputs_service.Client(wrapping: client)
    }

    /// `get`: what the server had waiting.
    func get() async throws -> [Falco_Outputs_response] {
        try await outputs.get(Falco_Outputs_request()) { response in
            var messages: [Falco_Outputs_response] = []
            for try await message in response.messages { messages.append(message) }
            return messages
        }
    }

    /// Starts a `sub` call that collects what arrives until cancelled or ended by the server.
    func subscribe(reading: Bool = true) -> Subscriber { Subscriber(outputs, reading: reading) }

    func close() async {
        client.beginGracefulShutdown()
        _ = try? await connections.value
    }

    /// A running `sub` call: its request stream stays open (one request every 100 ms, as Falco's
    /// clients send them) until `cancel`, and what it receives is collected.
    final class Subscriber: Sendable {
        enum Status: Sendable {
            case running
            case ended
            case failed(RPCError.Code, String)
        }

        /// Shared with the call's task.
        private final class Shared: Sendable {
            let state = Mutex<(received: [Falco_Outputs_response], status: Status)>(([], .running))
            let reading: Mutex<Bool>

            init(reading: Bool) {
                self.reading = Mutex(reading)
            }
        }

        private let shared: Shared
        private let call: Task<Void, Never>

        /// `reading: false` makes a client that does not read what arrives until `startReading()`.
        init(_ outputs: Falco_Outputs_service.Client<HTTP2ClientTransport.Posix>, reading: Bool = true) {
            let shared = Shared(reading: reading)
            self.shared = shared
            call = Task {
                do {
                    try await outputs.sub(requestProducer: { writer in
                        while !Task.isCancelled {
                            try await writer.write(Falco_Outputs_request())
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }, onResponse: { response in
                        while !shared.reading.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                        for try await message in response.messages {
                            shared.state.withLock { $0.received.append(message) }
                        }
                    })
                    shared.state.withLock { $0.status = .ended }
                } catch let error as RPCError {
                    shared.state.withLock { $0.status = .failed(error.code, error.message) }
                } catch {
                    shared.state.withLock { $0.status = .failed(.unknown, "\(error)") }
                }
            }
        }

        var received: [Falco_Outputs_response] { shared.state.withLock { $0.received } }
        var status: Status { shared.state.withLock { $0.status } }

        /// The status code the call ended with (nil while it runs or when it ended OK).
        var failureCode: RPCError.Code? {
            if case .failed(let code, _) = status { return code }
            return nil
        }

        var isRunning: Bool {
            if case .running = status { return true }
            return false
        }

        /// Waits (bounded) until `count` alerts arrived.
        func waitFor(_ count: Int, within limit: Duration = grpcPatience) async -> [Falco_Outputs_response] {
            _ = await eventually(within: limit, every: .milliseconds(20)) { received.count >= count }
            return received
        }

        func startReading() { shared.reading.withLock { $0 = true } }

        func cancel() async {
            call.cancel()
            await call.value
        }
    }
}

extension TestCertificates {
    /// The grpc output's TLS settings: the server certificate, and the CA that clients' certificates
    /// must come from when `mutual`.
    func serverTLS(mutual: Bool) -> TLSSettings {
        var tls = TLSSettings()
        tls.certFile = serverCertFile
        tls.keyFile = serverKeyFile
        tls.caFile = mutual ? caFile : nil
        return tls
    }
}

/// Runs `body` with `resource`, then `release`s it whether `body` threw or not (tests cannot `defer` an await).
func using<Resource>(_ resource: Resource, release: (Resource) async -> Void,
                     _ body: (Resource) async throws -> Void) async throws {
    do {
        try await body(resource)
    } catch {
        await release(resource)
        throw error
    }
    await release(resource)
}
