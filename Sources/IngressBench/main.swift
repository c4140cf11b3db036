import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import NIOCore
import Pipeline
import ServiceLifecycle
import Settings
import Workload

/// `make bench`: the ingress's throughput and latency. A dev cluster (librdkafka's mock brokers) and an ingress
/// run in this process; keep-alive connections POST EventLists of realistic events (the apiserver's batch of 400),
/// first as fast as the ingress answers, then at half that rate. kcat then produces the same events straight to the
/// same cluster, for scale. Prints numbers; asserts nothing (benchmarks are not tests).
struct BenchOptions {
    var seconds = 10
    var connections = 8
    var eventsPerRequest = 400
    var partitions = 24
    var brokers = 3

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--seconds": seconds = iterator.next().flatMap(Int.init) ?? seconds
            case "--connections": connections = iterator.next().flatMap(Int.init) ?? connections
            case "--events-per-request": eventsPerRequest = iterator.next().flatMap(Int.init) ?? eventsPerRequest
            case "--partitions": partitions = iterator.next().flatMap(Int.init) ?? partitions
            case "--brokers": brokers = iterator.next().flatMap(Int.init) ?? brokers
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

/// What one load phase measured.
struct PhaseResult {
    let requests: Int
    let events: Int
    let bytes: Int
    let elapsed: Duration
    let latencies: [Duration]
    let failures: [Int: Int]

    var seconds: Double { Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
    var eventsPerSecond: Double { Double(events) / seconds }
    var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }

    func percentile(_ fraction: Double) -> Duration {
        guard !latencies.isEmpty else { return .zero }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

/// Collected by the connections' tasks.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Duration] = []
    private var events = 0, bytes = 0, requests = 0
    private var failures: [Int: Int] = [:]

    func record(status: Int, latency: Duration, events: Int, bytes: Int) {
        lock.withLock {
            requests += 1
            guard status == 200 else {
                failures[status, default: 0] += 1
                return
            }
            latencies.append(latency)
            self.events += events
            self.bytes += bytes
        }
    }

    func result(elapsed: Duration) -> PhaseResult {
        lock.withLock {
            PhaseResult(requests: requests, events: events, bytes: bytes, elapsed: elapsed, latencies: latencies,
                        failures: failures)
        }
    }
}

func milliseconds(_ duration: Duration) -> String {
    let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return String(format: "%.1f ms", ms)
}

func formatted(_ value: Double) -> String {
    let number = NumberFormatter()
    number.numberStyle = .decimal
    number.maximumFractionDigits = 0
    return number.string(from: NSNumber(value: value)) ?? "\(Int(value))"
}

/// One load phase: `connections` loops posting bodies in turn, until `seconds` passed. With `interval`, each
/// connection starts a request every `interval` (open loop at a fixed rate) instead of as soon as the last answered.
func load(client: HTTPClient, url: String, bodies: [(ByteBuffer, Int)], connections: Int, seconds: Int,
          interval: Duration?) async -> PhaseResult {
    let recorder = Recorder()
    let started = ContinuousClock.now
    let deadline = started + .seconds(seconds)
    await withTaskGroup(of: Void.self) { group in
        for connection in 0..<connections {
            group.addTask {
                var index = connection
                // Spread the starts of a fixed-rate phase over one interval.
                var next = started + (interval.map { $0 * Double(connection) / Double(connections) } ?? .zero)
                while ContinuousClock.now < deadline {
                    if let interval {
                        try? await Task.sleep(until: next, clock: .continuous)
                        next += interval
                    }
                    let (body, events) = bodies[index % bodies.count]
                    index += connections
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(body)
                    let sent = ContinuousClock.now
                    var status = 0
                    do {
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        status = Int(response.status.code)
                    } catch {
                        status = -1
                    }
                    recorder.record(status: status, latency: ContinuousClock.now - sent, events: events,
                                    bytes: body.readableBytes)
                }
            }
        }
    }
    return recorder.result(elapsed: ContinuousClock.now - started)
}

func report(_ name: String, _ result: PhaseResult) {
    var line = "\(name): \(formatted(result.eventsPerSecond)) events/s, \(String(format: "%.1f", result.megabytesPerSecond)) MB/s, "
        + "\(formatted(Double(result.requests) / result.seconds)) requests/s; latency p50 \(milliseconds(result.percentile(0.5))), "
        + "p99 \(milliseconds(result.percentile(0.99))), max \(milliseconds(result.percentile(1.0)))"
    if !result.failures.isEmpty { line += "; not 200: \(result.failures.sorted { $0.key < $1.key })" }
    print(line)
}

/// kcat producing the same events (keyed as the ingress keys them) to the same cluster, with the ingress's
/// producer settings; the time until kcat has every acknowledgement and exits.
func kcatBaseline(bootstrap: String, events: [[UInt8]], keys: [String]) throws -> (events: Int, seconds: Double)? {
    guard let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else { return nil }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("ingress-bench-\(getpid()).txt")
    defer { try? FileManager.default.removeItem(at: file) }
    var text = Data()
    for (event, key) in zip(events, keys) {
        text.append(contentsOf: Array(key.utf8))
        text.append(UInt8(ascii: "\t"))
        text.append(contentsOf: event)
        text.append(UInt8(ascii: "\n"))
    }
    try text.write(to: file)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: kcat)
    process.arguments = ["-P", "-b", bootstrap, "-t", "k8s-audit.raw", "-K", "\t", "-l", file.path,
                         "-X", "enable.idempotence=true", "-X", "acks=all", "-X", "compression.type=lz4",
                         "-X", "linger.ms=5", "-X", "queue.buffering.max.messages=2000000"]
    process.standardError = FileHandle.nullDevice
    let started = ContinuousClock.now
    try process.run()
    process.waitUntilExit()
    let elapsed = ContinuousClock.now - started
    guard process.terminationStatus == 0 else { return nil }
    return (events.count, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

let options = BenchOptions(arguments: CommandLine.arguments)
var logger = Logger(label: "ingress-bench")
logger.logLevel = .error

let cluster = try MockKafkaCluster(brokers: options.brokers)
for topic in PipelineTopics().all {
    try cluster.createTopic(topic, partitions: options.partitions, replicationFactor: min(3, options.brokers))
}

var generator = CorpusGenerator(seed: 42)
let requestCount = 50
let events = generator.events(options.eventsPerRequest * requestCount)
let bodies: [(ByteBuffer, Int)] = (0..<requestCount).map { index in
    let items = events[(index * options.eventsPerRequest)..<((index + 1) * options.eventsPerRequest)]
    var body = Array(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.utf8)
    for (position, item) in items.enumerated() {
        if position > 0 { body.append(UInt8(ascii: ",")) }
        body += item
    }
    body += Array("]}".utf8)
    return (ByteBuffer(bytes: body), items.count)
}
let averageEvent = events.reduce(0) { $0 + $1.count } / events.count

var settings = IngressSettings()
settings.listen = ListenAddress(host: "127.0.0.1", port: 0)
settings.produceTimeout = ConfigDuration(.seconds(30))
let server = try IngressServer(settings: settings, kafka: KafkaSettings(brokers: cluster.bootstrapServers),
                               topics: PipelineTopics(), metrics: PipelineMetrics(), logger: logger)
let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
let running = Task { try await group.run() }
guard let port = await server.port() else { fatalError("the ingress did not start") }
let url = "http://127.0.0.1:\(port)/k8s-audit/bench"

var clientConfiguration = HTTPClient.Configuration()
clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.connections)
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

print("""
    ingress bench: \(options.connections) keep-alive connections, EventLists of \(options.eventsPerRequest) events \
    (\(averageEvent) bytes on average, \(bodies[0].0.readableBytes / 1024) KiB a request), \(options.brokers) mock \
    brokers, \(options.partitions) partitions, \(ProcessInfo.processInfo.activeProcessorCount) cores shared with the \
    cluster and the client
    """)
// Warm-up: connections open, the producer knows the cluster.
_ = await load(client: client, url: url, bodies: bodies, connections: options.connections, seconds: 2, interval: nil)
let full = await load(client: client, url: url, bodies: bodies, connections: options.connections,
                      seconds: options.seconds, interval: nil)
report("full load", full)
let halfRate = full.eventsPerSecond / 2
let perConnection = Double(options.eventsPerRequest) * Double(options.connections) / halfRate
let half = await load(client: client, url: url, bodies: bodies, connections: options.connections,
                      seconds: options.seconds, interval: .seconds(perConnection))
report("half load (\(formatted(halfRate)) events/s offered)", half)
try await client.shutdown().get()
await group.triggerGracefulShutdown()
try await running.value

// kcat: as many events as the ingress took in the full-load phase (at least 100,000), keyed alike.
let baselineCount = max(100_000, min(full.events, 400_000))
var baselineEvents: [[UInt8]] = []
baselineEvents.reserveCapacity(baselineCount)
while baselineEvents.count < baselineCount { baselineEvents += events.prefix(baselineCount - baselineEvents.count) }
let baselineKeys = baselineEvents.map { event -> String in
    let object = (try? JSONSerialization.jsonObject(with: Data(event))) as? [String: Any]
    return "bench/" + ((object?["objectRef"] as? [String: Any])?["namespace"] as? String ?? "")
}
if let baseline = try kcatBaseline(bootstrap: cluster.bootstrapServers, events: baselineEvents, keys: baselineKeys) {
    let rate = Double(baseline.events) / baseline.seconds
    print("kcat -P, same events and cluster: \(formatted(rate)) events/s, "
        + "\(String(format: "%.1f", rate * Double(averageEvent) / 1e6)) MB/s (\(formatted(Double(baseline.events))) events)")
    print("ingress / kcat: \(String(format: "%.2f", full.eventsPerSecond / rate))")
} else {
    print("kcat: not installed or failed (make deps installs it)")
}
