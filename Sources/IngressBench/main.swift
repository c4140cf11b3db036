import Foundation
import Kafka
import Logging
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

func formatted(_ value: Double) -> String { LoadReport.rate(value) }

/// One load phase through the shared load generator (`auditpipe loadgen`'s): `connections` keep-alive connections
/// posting EventLists for `seconds`, as fast as answered or at `rate` events/s.
func load(url: String, events: LoadEvents, connections: Int, batch: Int, seconds: Int,
          rate: Double?) async -> LoadStatistics.Snapshot {
    var plan = LoadPlan(url: url, clusters: ["bench"])
    plan.batchSize = batch
    plan.connections = connections
    plan.rate = rate
    plan.duration = .seconds(seconds)
    return await WebhookLoad(plan: plan, events: events).run()
}

func report(_ name: String, _ result: LoadStatistics.Snapshot) {
    var line = "\(name): \(formatted(result.acknowledgedPerSecond)) events/s, "
        + "\(String(format: "%.1f", Double(result.bytesSent) / result.seconds / 1e6)) MB/s, "
        + "\(formatted(Double(result.requestsAcknowledged) / result.seconds)) requests/s; latency p50 "
        + "\(LoadReport.milliseconds(result.percentile(0.5))), p99 \(LoadReport.milliseconds(result.percentile(0.99))), "
        + "max \(LoadReport.milliseconds(result.percentile(1.0)))"
    if !result.refused.isEmpty { line += "; not 200: \(result.refused.sorted { $0.key < $1.key })" }
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

let cluster = try MockKafkaCluster(brokers: options.brokers, topics: PipelineTopics(), partitions: options.partitions)

var generator = CorpusGenerator(seed: 42)
let requestCount = 50
let events = generator.events(options.eventsPerRequest * requestCount)
let loadEvents = LoadEvents(templates: events.compactMap(EventTemplate.init))
let averageEvent = events.reduce(0) { $0 + $1.count } / events.count

var settings = IngressSettings()
settings.listen = ListenAddress(host: "127.0.0.1", port: 0)
settings.produceTimeout = ConfigDuration(.seconds(30))
let server = try IngressServer(settings: settings, kafka: KafkaSettings(brokers: cluster.bootstrapServers),
                               topics: PipelineTopics(), metrics: PipelineMetrics(), logger: logger)
let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
let running = Task { try await group.run() }
guard let port = await server.port() else { fatalError("the ingress did not start") }
let url = "http://127.0.0.1:\(port)"

print("""
    ingress bench: \(options.connections) keep-alive connections, EventLists of \(options.eventsPerRequest) events \
    (\(averageEvent) bytes on average, \(averageEvent * options.eventsPerRequest / 1024) KiB a request), \(options.brokers) mock \
    brokers, \(options.partitions) partitions, \(ProcessInfo.processInfo.activeProcessorCount) cores shared with the \
    cluster and the client
    """)
// Warm-up: connections open, the producer knows the cluster.
_ = await load(url: url, events: loadEvents, connections: options.connections, batch: options.eventsPerRequest, seconds: 2,
               rate: nil)
let full = await load(url: url, events: loadEvents, connections: options.connections, batch: options.eventsPerRequest,
                      seconds: options.seconds, rate: nil)
report("full load", full)
let halfRate = full.acknowledgedPerSecond / 2
let half = await load(url: url, events: loadEvents, connections: options.connections, batch: options.eventsPerRequest,
                      seconds: options.seconds, rate: halfRate)
report("half load (\(formatted(halfRate)) events/s offered)", half)
await group.triggerGracefulShutdown()
try await running.value

// kcat: as many events as the ingress took in the full-load phase (at least 100,000), keyed alike.
let baselineCount = max(100_000, min(full.eventsAcknowledged, 400_000))
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
    print("ingress / kcat: \(String(format: "%.2f", full.acknowledgedPerSecond / rate))")
} else {
    print("kcat: not installed or failed (make deps installs it)")
}
