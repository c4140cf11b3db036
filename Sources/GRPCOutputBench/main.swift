import FalcoOutputsAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Kafka
import Logging
import Metrics
import NIOPosix
import Outputs
import Rules
import Synchronization
import Workload

/// `make bench`, the grpc output: alerts/s from `deliver` to grpc-swift clients subscribed over
/// loopback (1 and 3 subscribers), and the latency from `deliver` to a client's receipt. Delivery
/// is paced so that no subscriber falls more than `maxLag` alerts behind (faster, it would be
/// disconnected): the figure is what clients sustain. Prints numbers; asserts nothing.
struct GRPCBenchOptions {
    var falcoRules = "../shared/falco/k8s_audit_rules.yaml"
    var alerts = 200_000
    var batch = 1000
    var maxLag = 5000

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--falco-rules": falcoRules = iterator.next() ?? falcoRules
            case "--alerts": alerts = iterator.next().flatMap(Int.init) ?? alerts
            case "--batch": batch = iterator.next().flatMap(Int.init) ?? batch
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

func wallClockNanoseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

/// Realistic alerts: Falco's upstream rules (all matching) over the generated corpus, repeated.
func makeAlerts(_ options: GRPCBenchOptions) throws -> [OutputAlert] {
    let ruleSet = try RuleSet.load(files: [options.falcoRules], matching: .all)
    let evaluator = ruleSet.makeEvaluator(hostname: "bench-node")
    var generator = CorpusGenerator(seed: 7)
    var alerts: [OutputAlert] = []
    for event in generator.events(100_000) {
        for alert in try evaluator.evaluate(event, cluster: "bench") {
            alerts.append(OutputAlert(json: Array(AlertEncoder.json(alert).utf8), alert: alert, key: nil))
        }
    }
    guard !alerts.isEmpty else { throw BenchError(description: "the corpus gave no alerts") }
    return alerts
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

/// A subscribed client that counts what it receives and samples the latency of every alert.
final class BenchSubscriber: Sendable {
    private let shared: SubscriberState
    private let call: Task<Void, Never>

    init(_ outputs: Falco_Outputs_service.Client<HTTP2ClientTransport.Posix>) {
        let shared = SubscriberState()
        self.shared = shared
        call = Task {
            try? await outputs.sub(requestProducer: { writer in
                try await writer.write(Falco_Outputs_request())
                while !Task.isCancelled { try await Task.sleep(for: .seconds(1)) }
            }, onResponse: { response in
                for try await message in response.messages {
                    let latency = wallClockNanoseconds() - (message.time.seconds * 1_000_000_000 + Int64(message.time.nanos))
                    shared.record(latency)
                }
            })
        }
    }

    var count: Int { shared.count }
    var latencies: [Int64] { shared.latencies }

    func cancel() async {
        call.cancel()
        await call.value
    }
}

final class SubscriberState: Sendable {
    private let state = Mutex<(count: Int, latencies: [Int64])>((0, []))
    func record(_ latency: Int64) { state.withLock { $0.count += 1; $0.latencies.append(latency) } }
    var count: Int { state.withLock { $0.count } }
    var latencies: [Int64] { state.withLock { $0.latencies } }
}

func run(subscribers subscriberCount: Int, alerts: [OutputAlert], options: GRPCBenchOptions) async throws {
    var logger = Logger(label: "grpc-bench")
    logger.logLevel = .error
    let context = OutputContext(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, kafka: KafkaConfiguration(),
                                logger: logger, metrics: NOOPMetricsHandler.instance)
    var configuration = GRPCOutput.Configuration()
    configuration.listen = .tcp(.init(host: "127.0.0.1", port: 0))
    configuration.subscriberBuffer = options.maxLag * 2
    let output = try GRPCOutput(name: "bench", configuration: configuration, tls: .init(), context: context)
    guard case .tcp(let address) = output.address else { throw BenchError(description: "not a TCP address") }
    let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(target: .ipv4(address: address.host, port: address.port),
                                                                      transportSecurity: .plaintext))
    let connections = Task { try await client.runConnections() }
    let outputs = Falco_Outputs_service.Client(wrapping: client)
    let subscribers = (0..<subscriberCount).map { _ in BenchSubscriber(outputs) }
    while output.subscriberCount < subscriberCount { try await Task.sleep(for: .milliseconds(10)) }

    let start = ContinuousClock.now
    var delivered = 0
    var source = 0
    while delivered < options.alerts {
        var batch: [OutputAlert] = []
        batch.reserveCapacity(options.batch)
        let now = wallClockNanoseconds()
        for _ in 0..<min(options.batch, options.alerts - delivered) {
            // The alert's time carries when it was delivered, for the clients' latency.
            let template = alerts[source % alerts.count]
            source += 1
            var alert = template.alert
            alert.time = now
            batch.append(OutputAlert(json: template.json, alert: alert, key: nil))
        }
        try await output.deliver(batch)
        delivered += batch.count
        while subscribers.contains(where: { delivered - $0.count > options.maxLag }) { await Task.yield() }
    }
    while subscribers.contains(where: { $0.count < delivered }) {
        if output.subscriberCount < subscriberCount { throw BenchError(description: "a subscriber was disconnected") }
        try await Task.sleep(for: .milliseconds(1))
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let latencies = subscribers.flatMap(\.latencies).sorted()
    func percentile(_ fraction: Double) -> Double {
        Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]) / 1e6
    }
    print(String(format: "grpc output, %d subscriber(s): %.0f alerts/s delivered to each (%.0f messages/s in all); deliver→client latency p50 %.1f ms, p99 %.1f ms",
                 subscriberCount, Double(delivered) / seconds, Double(delivered * subscriberCount) / seconds,
                 percentile(0.5), percentile(0.99)))
    for subscriber in subscribers { await subscriber.cancel() }
    await output.shutdown()
    client.beginGracefulShutdown()
    _ = try? await connections.value
}

let options = GRPCBenchOptions(arguments: CommandLine.arguments)
do {
    let alerts = try makeAlerts(options)
    let averageSize = alerts.reduce(0) { $0 + $1.json.count } / alerts.count
    print("alerts: \(alerts.count) distinct from Falco's rules over the generated corpus (\(averageSize) bytes of JSON on average), \(options.alerts) delivered in batches of \(options.batch)")
    for subscribers in [1, 3] {
        try await run(subscribers: subscribers, alerts: alerts, options: options)
    }
} catch {
    print("grpc bench failed: \(error)")
    exit(1)
}
