import Foundation
import Kafka
import Logging
import Pipeline
import Rules
import ServiceLifecycle
import Settings
import Synchronization
import Workload

/// `make bench`: the whole pipeline end to end, as `auditpipe run` wires it (ingress → engine → alerts topic) on
/// an in-process dev cluster, fed by the load generator over HTTP, with the project's rules (and Falco's upstream
/// rules when ../shared has them). A consumer of the alerts topic matches each alert to the request its event came
/// in (the loadgen's auditIDs carry the request number), so that end-to-end latency is POST sent → alert readable
/// in the alerts topic. Measures
///   1. throughput: a fixed number of events posted as fast as the ingress answers, timed until the last alert
///      they cause is in the alerts topic;
///   2. latency at half that rate for a while: p50/p90/p99 end to end, and the ingress's answer times.
/// Prints numbers; asserts nothing (benchmarks are not tests).
struct Options {
    var rules = ["rules/auditpipe_rules.yaml"]
    var falcoRules: String? = "../shared/falco/k8s_audit_rules.yaml"
    var events = 200_000
    var seconds = 10
    var connections = 8
    var partitions = 64
    var brokers = 1

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--rules": rules = [iterator.next() ?? rules[0]]
            case "--falco-rules": falcoRules = iterator.next()
            case "--no-falco-rules": falcoRules = nil
            case "--events": events = iterator.next().flatMap(Int.init) ?? events
            case "--seconds": seconds = iterator.next().flatMap(Int.init) ?? seconds
            case "--connections": connections = iterator.next().flatMap(Int.init) ?? connections
            case "--partitions": partitions = iterator.next().flatMap(Int.init) ?? partitions
            case "--brokers": brokers = iterator.next().flatMap(Int.init) ?? brokers
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

/// Alerts seen in the alerts topic, per load run (tag): how many, when the last came, and each one's latency from
/// its request's POST.
final class AlertTimes: Sendable {
    struct Run {
        var sentAt: [UInt32: ContinuousClock.Instant] = [:]
        var alerts = 0
        var lastAt = ContinuousClock.now
        var latencies: [Duration] = []
    }

    private let runs = Mutex<[UInt32: Run]>([:])

    func start(_ tag: UInt32) { runs.withLock { $0[tag] = Run() } }

    func sent(_ tag: UInt32, request: UInt32, at instant: ContinuousClock.Instant) {
        runs.withLock { $0[tag]?.sentAt[request] = instant }
    }

    func seen(_ tag: UInt32, request: UInt32, at instant: ContinuousClock.Instant) {
        runs.withLock { runs in
            guard var run = runs[tag] else { return }
            run.alerts += 1
            run.lastAt = instant
            if let sent = run.sentAt[request] { run.latencies.append(instant - sent) }
            runs[tag] = run
        }
    }

    func run(_ tag: UInt32) -> Run { runs.withLock { $0[tag] ?? Run() } }
}

/// Reads the alerts topic on a thread of its own (the consumer is not thread-safe) until stopped.
final class AlertReader: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let times: AlertTimes
    private let stopped = Mutex(false)
    private let done = DispatchSemaphore(value: 0)

    init(brokers: String, topic: String, times: AlertTimes) throws {
        consumer = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: brokers, ["fetch.wait.max.ms": "10"]),
                                     groupID: "pipeline-bench-reader")
        try consumer.subscribe([topic])
        self.times = times
    }

    func start() {
        let thread = Thread { [self] in
            let marker = Array(#""auditID":""#.utf8)
            while !stopped.withLock({ $0 }) {
                _ = try? consumer.poll(maxMessages: 10_000, timeout: .milliseconds(100)) { message in
                    let now = ContinuousClock.now
                    let value = message.value
                    guard let start = Self.find(marker, in: value), start + 36 <= value.count,
                          let id = LoadAuditID.parse(value[start..<(start + 36)]) else { return }
                    times.seen(id.run, request: id.request, at: now)
                }
            }
            consumer.close()
            done.signal()
        }
        thread.name = "alert-reader"
        thread.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
    }

    private static func find(_ marker: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count > marker.count else { return nil }
        var index = 0
        while index + marker.count <= bytes.count {
            if bytes[index] == marker[0] {
                var match = true
                for offset in 1..<marker.count where bytes[index + offset] != marker[offset] {
                    match = false
                    break
                }
                if match { return index + marker.count }
            }
            index += 1
        }
        return nil
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let options = Options(arguments: CommandLine.arguments)
var logger = Logger(label: "pipeline-bench")
logger.logLevel = .error

var ruleFiles = options.rules
if let falco = options.falcoRules, FileManager.default.fileExists(atPath: falco) { ruleFiles.insert(falco, at: 0) }
let ruleSet = try RuleSet.load(files: ruleFiles)

// The events (CorpusGenerator's mix) and how many alerts each causes, from the same rules evaluated here.
let templates = LoadEvents.generated(count: 20_000, seed: 42)
let evaluator = ruleSet.makeEvaluator()
let alertsPerTemplate = templates.map { (try? evaluator.evaluate($0.bytes, cluster: "bench", origin: nil).count) ?? 0 }
func expectedAlerts(events: Int) -> Int {
    let perCycle = alertsPerTemplate.reduce(0, +)
    return events / templates.count * perCycle + alertsPerTemplate.prefix(events % templates.count).reduce(0, +)
}

let cluster = try MockKafkaCluster(brokers: options.brokers, topics: PipelineTopics(), partitions: options.partitions)
var config = AuditpipeConfig()
config.kafka.brokers = cluster.bootstrapServers
config.ingress.listen = ListenAddress(host: "127.0.0.1", port: 0)
config.ingress.produceTimeout = ConfigDuration(.seconds(30))
config.engine.rules = ruleFiles
config.engine.rulesWatchInterval = ConfigDuration(.zero)
let stages = try PipelineStages(config: config, ruleSet: ruleSet, metrics: PipelineMetrics(), logger: logger)
let group = ServiceGroup(configuration: .init(services: stages.services, logger: logger))
let running = Task { try await group.run() }
guard let port = await stages.ingress.port() else { fatalError("the ingress did not start") }
let url = "http://127.0.0.1:\(port)"

let times = AlertTimes()
let reader = try AlertReader(brokers: cluster.bootstrapServers, topic: config.topics.alerts, times: times)
reader.start()

print("""
    pipeline bench (ingress → engine → alerts topic, as auditpipe run): \(ruleSet.statistics.rules) rules \
    (\(ruleFiles.joined(separator: ", "))), \(options.connections) connections posting EventLists of 400, \
    \(options.brokers) mock broker(s), \(options.partitions) partitions, \
    \(ProcessInfo.processInfo.activeProcessorCount) cores shared by the client, the stages and the brokers; \
    \(String(format: "%.1f", Double(expectedAlerts(events: 100_000)) / 1000))% of events alert
    """)

/// Posts through the load generator, then waits (bounded) until every alert the events cause was read.
func phase(events total: Int?, duration: Duration?, rate: Double?) async
    -> (load: LoadStatistics.Snapshot, alerts: AlertTimes.Run, expected: Int, elapsed: Duration) {
    let events = LoadEvents(templates: templates)
    times.start(events.runTag)
    var plan = LoadPlan(url: url, clusters: ["bench"])
    plan.connections = options.connections
    plan.rate = rate
    plan.totalEvents = total
    plan.duration = duration
    let tag = events.runTag
    let load = WebhookLoad(plan: plan, events: events) { request, at in times.sent(tag, request: request, at: at) }
    let started = ContinuousClock.now
    let result = await load.run()
    let expected = expectedAlerts(events: result.eventsAcknowledged)
    let deadline = ContinuousClock.now + .seconds(120)
    while times.run(tag).alerts < expected, ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(10))
    }
    let alerts = times.run(tag)
    return (result, alerts, expected, alerts.lastAt - started)
}

func latencyLine(_ latencies: [Duration]) -> String {
    let sorted = latencies.sorted()
    func at(_ fraction: Double) -> String {
        sorted.isEmpty ? "n/a" : LoadReport.milliseconds(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))])
    }
    return "p50 \(at(0.5)), p90 \(at(0.9)), p99 \(at(0.99)), max \(at(1.0))"
}

// Warm-up: connections, producers, the engine's group.
_ = await phase(events: 20_000, duration: nil, rate: nil)

let full = await phase(events: options.events, duration: nil, rate: nil)
let fullRate = Double(full.load.eventsAcknowledged) / seconds(full.elapsed)
print("""
    full load: \(LoadReport.count(full.load.eventsAcknowledged)) events in \(String(format: "%.1f", seconds(full.elapsed))) s \
    end to end = \(LoadReport.rate(fullRate)) events/s through ingress → engine → alerts topic \
    (ingress acknowledged \(LoadReport.rate(full.load.acknowledgedPerSecond)) events/s; \
    \(LoadReport.count(full.alerts.alerts)) of \(LoadReport.count(full.expected)) alerts read); \
    end-to-end latency \(latencyLine(full.alerts.latencies))
    """)

let halfRate = fullRate / 2
let half = await phase(events: nil, duration: .seconds(options.seconds), rate: halfRate)
print("""
    half load (\(LoadReport.rate(halfRate)) events/s offered for \(options.seconds) s): \
    \(LoadReport.count(half.alerts.alerts)) of \(LoadReport.count(half.expected)) alerts read; \
    end-to-end latency (POST sent → alert in the alerts topic) \(latencyLine(half.alerts.latencies)); \
    ingress answers \(LoadReport.latencies(half.load))
    """)

reader.stop()
await group.triggerGracefulShutdown()
try await running.value
