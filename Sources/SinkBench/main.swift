import Foundation
import Kafka
import Logging
import Outputs
import Pipeline
import Rules
import Settings
import TestSupport

// make bench: alerts/s through the sink stage (its consumer, decoding, delivery policy and
// commits) to a Kafka output topic and to the http output (a local receiver), on an in-process
// dev cluster. Prints numbers, asserts nothing.
//   .build/release/SinkBench [--alerts N] [--partitions P] [--clusters C] [--only kafka|http]

struct Options {
    var alerts = 200_000
    var partitions = 48
    var clusters = 64
    /// Which outputs to measure (both by default; one alone for profiling).
    var outputs: Set<String> = ["kafka", "http"]

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--alerts": alerts = iterator.next().flatMap(Int.init) ?? alerts
            case "--partitions": partitions = iterator.next().flatMap(Int.init) ?? partitions
            case "--clusters": clusters = iterator.next().flatMap(Int.init) ?? clusters
            case "--only": outputs = Set(iterator.next().map { [$0] } ?? [])
            default:
                FileHandle.standardError.write(Data("usage: SinkBench [--alerts N] [--partitions P] [--clusters C] [--only kafka|http]\n".utf8))
                exit(2)
            }
        }
    }
}

/// A counter's value from the Prometheus exposition.
func metric(_ metrics: PipelineMetrics, _ name: String, output: String) -> Double {
    let text = String(decoding: metrics.exposition(), as: UTF8.self)
    let prefix = "\(name){output=\"\(output)\"} "
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
    return Double(line.dropFirst(prefix.count)) ?? 0
}

/// Quantiles of the delivery latency histogram (upper bucket bounds).
func latencyQuantiles(_ metrics: PipelineMetrics, output: String) -> (p50: String, p99: String, batches: Int) {
    let text = String(decoding: metrics.exposition(), as: UTF8.self)
    var buckets: [(Double, Double)] = []
    for line in text.split(separator: "\n") where line.hasPrefix("auditpipe_sink_delivery_duration_seconds_bucket{") {
        guard line.contains("output=\"\(output)\""), let le = line.range(of: "le=\""),
              let close = line[le.upperBound...].firstIndex(of: "\"") else { continue }
        let bound = String(line[le.upperBound..<close])
        let count = Double(line.split(separator: " ").last ?? "0") ?? 0
        buckets.append((bound == "+Inf" ? .infinity : Double(bound) ?? .infinity, count))
    }
    buckets.sort { $0.0 < $1.0 }
    let total = buckets.last?.1 ?? 0
    func quantile(_ q: Double) -> String {
        guard let bucket = buckets.first(where: { $0.1 >= q * total }) else { return "n/a" }
        return bucket.0.isInfinite ? "> 30 s" : String(format: "≤ %.1f ms", bucket.0 * 1000)
    }
    return (quantile(0.5), quantile(0.99), Int(total))
}

func run() async throws {
    let options = Options(CommandLine.arguments)
    let cluster = try MockKafkaCluster(brokers: 1)
    let topics = PipelineTopics()
    for topic in topics.all + ["bench.out"] {
        try cluster.createTopic(topic, partitions: options.partitions)
    }
    let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)

    // Alerts are keyed by cluster (DESIGN.md): many clusters, as users run, spread them over the partitions.
    let records = (0..<options.alerts).map { SampleAlerts.record(SampleAlerts.alert($0, cluster: "cluster-\($0 % options.clusters)")) }
    let averageSize = records.reduce(0) { $0 + $1.value.count } / max(records.count, 1)
    let producer = try KafkaProducer(configuration: kafka)
    let produceStart = ContinuousClock.now
    for chunk in stride(from: 0, to: records.count, by: 20_000) {
        for result in await producer.send(Array(records[chunk..<min(chunk + 20_000, records.count)])) { _ = try result.get() }
    }
    let produceTime = ContinuousClock.now - produceStart
    producer.close()
    print("alerts: \(options.alerts), \(averageSize) bytes on average, \(options.partitions) partitions (produced in \(produceTime))")

    if options.outputs.contains("kafka") {
    let kafkaRun = try await measure(output: "topic", entry: "{name: topic, type: kafka, topic: bench.out}",
                                     brokers: cluster.bootstrapServers, alerts: options.alerts)
    print(String(format: "sink -> kafka output topic: %.0f alerts/s steady (%.0f alerts in %.2f s after the first batch); %.0f alerts/s from the sink's start (%.2f s, joining the group included)",
                 kafkaRun.steadyRate, kafkaRun.steadyAlerts, kafkaRun.steadySeconds, kafkaRun.rate, kafkaRun.seconds))
    print("  per-batch delivery (produce + acks): p50 \(kafkaRun.latency.p50), p99 \(kafkaRun.latency.p99), \(kafkaRun.latency.batches) batches")

    }
    // The http output to a local receiver (HTTP/1.1 keep-alive on loopback; the receiver shares the machine).
    guard options.outputs.contains("http") else { return }
    let receiver = try await HTTPTestReceiver(recording: false)
    let httpRun = try await measure(output: "http", entry: "{name: http, type: http, url: \"\(receiver.url("/falco"))\"}",
                                    brokers: cluster.bootstrapServers, alerts: options.alerts)
    print(String(format: "sink -> http output (local receiver): %.0f alerts/s steady (%.0f alerts in %.2f s after the first batch); %.0f alerts/s from the sink's start (%.2f s); %d requests received, up to %d at once",
                 httpRun.steadyRate, httpRun.steadyAlerts, httpRun.steadySeconds, httpRun.rate, httpRun.seconds,
                 receiver.requestCount, receiver.maxInFlight))
    print("  per-batch delivery (requests in parallel): p50 \(httpRun.latency.p50), p99 \(httpRun.latency.p99), \(httpRun.latency.batches) batches")
    await receiver.stop()
}

/// What one sink run measured.
struct SinkRun {
    var delivered: Double
    /// From the sink's start to the last delivery (includes joining the consumer group).
    var seconds: Double
    /// From the first delivery seen to the last: the steady rate, without the group join.
    var steadySeconds: Double
    var steadyAlerts: Double
    var latency: (p50: String, p99: String, batches: Int)

    var rate: Double { delivered / seconds }
    var steadyRate: Double { steadyAlerts / steadySeconds }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs a sink with one output (`entry`, a YAML mapping) until it delivered every alert of the topic.
func measure(output: String, entry: String, brokers: String, alerts: Int) async throws -> SinkRun {
    let yaml = """
        kafka: {brokers: "\(brokers)"}
        sink:
          outputs:
            - \(entry)
        """
    let config = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: yaml, file: "bench.yaml")
    let metrics = PipelineMetrics()
    var logger = Logger(label: "sink-bench")
    logger.logLevel = .warning
    let stage = try SinkStage(config: config, metrics: metrics, logger: logger)
    let start = ContinuousClock.now
    let running = Task { try await stage.run() }
    var firstSeen: (at: ContinuousClock.Instant, delivered: Double)?
    var delivered = 0.0
    while delivered < Double(alerts) {
        try await Task.sleep(for: .milliseconds(5))
        delivered = metric(metrics, "auditpipe_sink_delivered_total", output: output)
        if firstSeen == nil, delivered > 0 { firstSeen = (.now, delivered) }
        if ContinuousClock.now - start > .seconds(300) {
            print("gave up after 300 s")
            break
        }
    }
    let end = ContinuousClock.now
    stage.requestStop()
    try await running.value
    let first = firstSeen ?? (end, delivered)
    return SinkRun(delivered: delivered, seconds: seconds(end - start), steadySeconds: seconds(end - first.at),
                   steadyAlerts: delivered - first.delivered, latency: latencyQuantiles(metrics, output: output))
}

try await run()
