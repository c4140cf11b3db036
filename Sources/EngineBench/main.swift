import Foundation
import Kafka
import Logging
import Pipeline
import Rules
import Settings
import ServiceLifecycle
import Synchronization
import Workload

/// `make bench`: the engine stage on a dev cluster (librdkafka's mock brokers, in this process), with
/// Falco's upstream rules and realistic events. Measures
///   1. the Kafka floor: kcat reading the raw topic end to end;
///   2. drain throughput: an engine reading the same preloaded topic (events/s, batch latency);
///   2b. replay throughput over the same history (auditpipe replay's core, in this process), before and after
///       the engine's drain;
///   3. end-to-end latency (raw produce → alert acknowledged) at a full and a half rate, events
///      produced at a steady pace while the engine runs. Each rate has a topic of its own, and the
///      producer is flushed between them, so that one rate's backlog is not measured as the other's latency.
/// `--phases kcat,replay,drain,latency` runs only some (to profile one with perf, say).
/// Prints numbers; asserts nothing (benchmarks are not tests).
struct Options {
    var falcoRules = "../shared/falco/k8s_audit_rules.yaml"
    var partitions = 64
    var events = 300_000
    var rate = 200_000
    var seconds = 8
    var workers = 0
    var kcat = true
    var phases: Set<String> = ["kcat", "replay", "drain", "latency"]
    /// librdkafka settings for the engine's clients (`--kafka key=value`, repeatable), as `kafka.settings` gives them.
    var kafka: [String: String] = [:]
    /// `engine.max_in_flight_bytes` in MiB (`--max-in-flight-mib`): how much the engine reads ahead before pausing.
    var maxInFlightMiB: Int?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--falco-rules": falcoRules = iterator.next() ?? falcoRules
            case "--partitions": partitions = iterator.next().flatMap(Int.init) ?? partitions
            case "--events": events = iterator.next().flatMap(Int.init) ?? events
            case "--rate": rate = iterator.next().flatMap(Int.init) ?? rate
            case "--seconds": seconds = iterator.next().flatMap(Int.init) ?? seconds
            case "--workers": workers = iterator.next().flatMap(Int.init) ?? workers
            case "--no-kcat": kcat = false
            case "--kafka":
                let setting = (iterator.next() ?? "").split(separator: "=", maxSplits: 1).map(String.init)
                if setting.count == 2 { kafka[setting[0]] = setting[1] }
            case "--max-in-flight-mib": maxInFlightMiB = iterator.next().flatMap(Int.init)
            case "--phases": phases = Set((iterator.next() ?? "").split(separator: ",").map(String.init))
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func wallMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func format(_ value: Double) -> String { String(format: "%.0f", value) }

/// What the engine acknowledged, gathered from its hook (on producer threads).
final class Acknowledgements: Sendable {
    struct State {
        var events = 0
        var firstClosedAt: UInt64 = .max
        var lastAckAt: UInt64 = 0
        var batchLatenciesMs: [Double] = []
        var endToEndMs: [Double] = []
        var batchSizes = 0
        var batches = 0
    }

    let state = Mutex(State())
    let recordEndToEnd: Bool

    init(recordEndToEnd: Bool) {
        self.recordEndToEnd = recordEndToEnd
    }

    func acknowledged(_ batch: RawBatch, closedAt: UInt64) {
        let at = now(), wall = wallMilliseconds()
        state.withLock { state in
            state.events += batch.count
            state.batches += 1
            state.batchSizes += batch.count
            state.firstClosedAt = min(state.firstClosedAt, closedAt)
            state.lastAckAt = max(state.lastAckAt, at)
            state.batchLatenciesMs.append(Double(at - closedAt) / 1e6)
            if recordEndToEnd {
                for event in batch.events where event.timestamp > 0 { state.endToEndMs.append(Double(wall - event.timestamp)) }
            }
        }
    }

    var snapshot: State { state.withLock { $0 } }
}

/// Runs an engine in this process until `until` says it is done, then shuts it down gracefully.
func runEngine(brokers: String, topics: PipelineTopics, group: String, ruleSet: RuleSet, options: Options,
               kafkaSettings: [String: String] = [:], acknowledgements: Acknowledgements,
               until: @escaping @Sendable (EngineService) async -> Void) async throws {
    var config = AuditpipeConfig()
    config.kafka = KafkaSettings(brokers: brokers, settings: options.kafka.merging(kafkaSettings) { _, phase in phase })
    config.topics = topics
    config.engine.rules = [options.falcoRules]
    config.engine.consumerGroup = group
    config.engine.workers = options.workers
    if let mebibytes = options.maxInFlightMiB { config.engine.maxInFlightBytes = ByteSize(mebibytes << 20) }
    config.engine.rulesWatchInterval = .init(.zero)
    var logger = Logger(label: "bench")
    logger.logLevel = ProcessInfo.processInfo.environment["ENGINEBENCH_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    let engine = try EngineService(configuration: config, ruleSet: ruleSet, metrics: PipelineMetrics(), logger: logger,
                                   hostname: "bench") { batch, closedAt in
        acknowledgements.acknowledged(batch, closedAt: closedAt)
    }
    let serviceGroup = ServiceGroup(configuration: .init(services: [.init(service: engine)], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await serviceGroup.run() }
        await until(engine)
        await serviceGroup.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// Produces `records` at `rate` per second (in 5 ms ticks) for `seconds`, not waiting for acknowledgements
/// (ingress does); returns how many were produced. The caller flushes the producer before the next phase.
func producePaced(_ producer: KafkaProducer, _ corpus: [[UInt8]], topic: String, partitions: Int, rate: Int,
                  seconds: Int) async -> Int {
    let tick = 5_000_000 as UInt64
    let perTick = max(1, rate / 200)
    let start = now()
    var produced = 0
    var next = start
    let total = rate * seconds
    while produced < total {
        var records: [KafkaRecord] = []
        records.reserveCapacity(perTick)
        for _ in 0..<min(perTick, total - produced) {
            records.append(KafkaRecord(topic: topic, key: nil, value: corpus[produced % corpus.count],
                                       headers: [KafkaHeader("cluster", "bench")], partition: Int32(produced % partitions)))
            produced += 1
        }
        producer.send(records) { _ in }
        next += tick
        let current = now()
        if next > current { try? await Task.sleep(for: .nanoseconds(Int64(next - current))) }
    }
    return produced
}

let options = Options(arguments: CommandLine.arguments)
var generator = CorpusGenerator(seed: 42)
let corpus = generator.events(min(options.events, 100_000))
let averageBytes = corpus.reduce(0) { $0 + $1.count } / corpus.count
let ruleSet: RuleSet
do {
    ruleSet = try RuleSet.load(files: [options.falcoRules])
} catch {
    print("cannot load rules: \(error)")
    exit(2)
}
let workers = options.workers > 0 ? options.workers : ProcessInfo.processInfo.activeProcessorCount
print("engine bench: \(ruleSet.statistics.rules) rules (\(options.falcoRules)), \(options.events) events of \(averageBytes) bytes on average, "
      + "\(options.partitions) partitions, \(workers) workers, \(ProcessInfo.processInfo.activeProcessorCount) cores")

let cluster = try MockKafkaCluster(brokers: 1)
var topics = PipelineTopics()
for topic in topics.all { try cluster.createTopic(topic, partitions: options.partitions) }
let latencyPhases = [("full rate", options.rate), ("half rate", options.rate / 2)].map { label, rate in
    (label: label, rate: rate, topic: "k8s-audit.raw.latency-\(rate)")
}
for phase in latencyPhases { try cluster.createTopic(phase.topic, partitions: options.partitions) }
try cluster.createTopic(ReplayTarget.defaultTopic, partitions: options.partitions)
let producer = try KafkaProducer(configuration: KafkaConfiguration(
    bootstrapServers: cluster.bootstrapServers,
    ["linger.ms": "20", "batch.size": "1000000", "queue.buffering.max.messages": "2000000", "queue.buffering.max.kbytes": "4194304"]))

// Preload the raw topic (as ingress would: lz4-compressed batches, a cluster header).
let loadStart = now()
let preload = (0..<options.events).map { index in
    KafkaRecord(topic: topics.raw, key: nil, value: corpus[index % corpus.count], headers: [KafkaHeader("cluster", "bench")],
                partition: Int32(index % options.partitions))
}
let failures = await producer.send(preload).filter { if case .failure = $0 { true } else { false } }.count
print(String(format: "preload: %d events in %.1f s (%d failed)", options.events, Double(now() - loadStart) / 1e9, failures))

// 1. The Kafka floor: kcat reading the topic end to end (a consumer that does nothing with the events).
var kcatRate: Double?
if options.kcat, options.phases.contains("kcat"), let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: kcat)
    process.arguments = ["-C", "-b", cluster.bootstrapServers, "-t", topics.raw, "-o", "beginning", "-e", "-q", "-f", "%o\n"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    let start = now()
    try process.run()
    var lines = 0
    while true {
        let chunk = output.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        lines += chunk.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
    }
    process.waitUntilExit()
    let seconds = Double(now() - start) / 1e9
    kcatRate = Double(lines) / seconds
    print(String(format: "kcat (Kafka floor): %d events in %.2f s: %@ events/s", lines, seconds, format(kcatRate!)))
}

/// Replay over the preloaded history (the corpus's stageTimestamps all lie on 2026-11-26): the engine's evaluation
/// behind a reader of its own, alerts to the replay topic as the engine writes its alerts. Events/s while reading.
@MainActor func replayRate(label: String) throws -> Double {
    var request = ReplayRequest(kafka: KafkaSettings(brokers: cluster.bootstrapServers), topics: topics,
                                range: ReplayRange(from: ReplayTime.parse("2026-11-26T00:00:00Z")!,
                                                   to: ReplayTime.parse("2026-11-27T00:00:00Z")!),
                                rules: ruleSet)
    request.workers = options.workers
    request.hostname = "bench"
    request.target = .topic(ReplayTarget.defaultTopic)
    let replayed = try Replayer(request: request).run()
    let rate = Double(replayed.eventsRead) / replayed.readingSeconds
    print(String(format: "replay (%@): %d events in %.2f s (%.2f s with connecting and planning): %@ events/s, %d alerts",
                 label, replayed.eventsRead, replayed.readingSeconds, replayed.seconds, format(rate), replayed.alerts))
    return rate
}

// 2a. Replay before the engine reads the topic (the order matters little, but the machine is shared: both are shown).
let replays = options.phases.contains("replay")
let replayFirst = replays ? try replayRate(label: "before the engine") : .nan

// 2. Drain throughput: the engine reads the preloaded topic from the start.
let drain = Acknowledgements(recordEndToEnd: false)
if options.phases.contains("drain") {
    try await runEngine(brokers: cluster.bootstrapServers, topics: topics, group: "bench-drain", ruleSet: ruleSet, options: options,
                        acknowledgements: drain) { _ in
        let deadline = now() + 600_000_000_000
        while drain.snapshot.events < options.events, now() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }
    let drained = drain.snapshot
    let drainSeconds = Double(drained.lastAckAt - drained.firstClosedAt) / 1e9
    let engineRate = Double(drained.events) / drainSeconds
    let batchLatencies = drained.batchLatenciesMs.sorted()
    print(String(format: "engine drain: %d events in %.2f s: %@ events/s; %d batches of %.0f events on average; batch latency (close → acked) p50 %.1f ms, p99 %.1f ms",
                 drained.events, drainSeconds, format(engineRate), drained.batches, Double(drained.batchSizes) / Double(max(1, drained.batches)),
                 percentile(batchLatencies, 0.5), percentile(batchLatencies, 0.99)))
    if let kcatRate { print(String(format: "engine / kcat: %.2f", engineRate / kcatRate)) }

    // 2b. Replay again, after the engine: replay / engine drain compares the two on the same history.
    if replays {
        let replaySecond = try replayRate(label: "after the engine")
        print(String(format: "replay / engine drain: %.2f (before), %.2f (after)", replayFirst / engineRate, replaySecond / engineRate))
    }
}

// 3. End-to-end latency at a steady rate: full, then half, each on a topic of its own, and the first's events
// all stored before the second starts (else the half rate's engine would start behind the full rate's backlog,
// or the broker would still be taking it in).
for (label, rate, latencyTopic) in latencyPhases where options.phases.contains("latency") {
    topics.raw = latencyTopic
    let run = Acknowledgements(recordEndToEnd: true)
    let produced = Mutex(0)
    let produceSeconds = Mutex(0.0)
    // A new group starting at the end of the topic: only events produced during the run count.
    try await runEngine(brokers: cluster.bootstrapServers, topics: topics, group: "bench-latency-\(rate)", ruleSet: ruleSet,
                        options: options, kafkaSettings: ["auto.offset.reset": "latest"], acknowledgements: run) { engine in
        while engine.readiness() != .ready { try? await Task.sleep(for: .milliseconds(20)) }
        try? await Task.sleep(for: .milliseconds(500))
        let before = run.snapshot.events
        let start = now()
        let count = await producePaced(producer, corpus, topic: latencyTopic, partitions: options.partitions, rate: rate,
                                       seconds: options.seconds)
        produceSeconds.withLock { $0 = Double(now() - start) / 1e9 }
        produced.withLock { $0 = count }
        let deadline = now() + 60_000_000_000
        while run.snapshot.events < before + count, now() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }
    if !producer.flush(timeout: .seconds(60)) { print("\(label): the producer still held \(producer.queuedCount) events after 60 s") }
    let result = run.snapshot
    let endToEnd = result.endToEndMs.sorted()
    let batches = result.batchLatenciesMs.sorted()
    let count = produced.withLock { $0 }, seconds = produceSeconds.withLock { $0 }
    print(String(format: "%@ (%@ events/s asked, %@ produced): %d acknowledged; end-to-end p50 %.0f ms, p99 %.0f ms, max %.0f ms; batch latency p50 %.1f ms, p99 %.1f ms",
                 label, format(Double(rate)), format(Double(count) / seconds), result.events,
                 percentile(endToEnd, 0.5), percentile(endToEnd, 0.99), endToEnd.last ?? .nan,
                 percentile(batches, 0.5), percentile(batches, 0.99)))
}
producer.close()
