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
//   .build/release/SinkBench [--alerts N] [--partitions P]

struct Options {
    var alerts = 200_000
    var partitions = 48

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--alerts": alerts = iterator.next().flatMap(Int.init) ?? alerts
            case "--partitions": partitions = iterator.next().flatMap(Int.init) ?? partitions
            default:
                FileHandle.standardError.write(Data("usage: SinkBench [--alerts N] [--partitions P]\n".utf8))
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

    let records = (0..<options.alerts).map { SampleAlerts.record(SampleAlerts.alert($0)) }
    let averageSize = records.reduce(0) { $0 + $1.value.count } / max(records.count, 1)
    let producer = try KafkaProducer(configuration: kafka)
    let produceStart = ContinuousClock.now
    for chunk in stride(from: 0, to: records.count, by: 20_000) {
        for result in await producer.send(Array(records[chunk..<min(chunk + 20_000, records.count)])) { _ = try result.get() }
    }
    let produceTime = ContinuousClock.now - produceStart
    producer.close()
    print("alerts: \(options.alerts), \(averageSize) bytes on average, \(options.partitions) partitions (produced in \(produceTime))")

    let kafkaRun = try await measure(output: "topic", entry: "{name: topic, type: kafka, topic: bench.out}",
                                     brokers: cluster.bootstrapServers, alerts: options.alerts)
    print(String(format: "sink -> kafka output topic: %.0f alerts/s (%.0f alerts in %.2f s, from the sink's start; includes joining the group)",
                 kafkaRun.rate, kafkaRun.delivered, kafkaRun.seconds))
    print("  per-batch delivery (produce + acks): p50 \(kafkaRun.latency.p50), p99 \(kafkaRun.latency.p99), \(kafkaRun.latency.batches) batches")

    // The http output to a local receiver (HTTP/1.1 keep-alive on loopback; the receiver shares the machine).
    let receiver = try await HTTPTestReceiver(recording: false)
    let httpRun = try await measure(output: "http", entry: "{name: http, type: http, url: \"\(receiver.url("/falco"))\"}",
                                    brokers: cluster.bootstrapServers, alerts: options.alerts)
    print(String(format: "sink -> http output (local receiver): %.0f alerts/s (%.0f alerts in %.2f s, %d requests received, up to %d at once)",
                 httpRun.rate, httpRun.delivered, httpRun.seconds, receiver.requestCount, receiver.maxInFlight))
    print("  per-batch delivery (requests in parallel): p50 \(httpRun.latency.p50), p99 \(httpRun.latency.p99), \(httpRun.latency.batches) batches")
    await receiver.stop()
}

/// Runs a sink with one output (`entry`, a YAML mapping) until it delivered every alert of the topic.
func measure(output: String, entry: String, brokers: String, alerts: Int) async throws
    -> (rate: Double, delivered: Double, seconds: Double, latency: (p50: String, p99: String, batches: Int)) {
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
    while metric(metrics, "auditpipe_sink_delivered_total", output: output) < Double(alerts) {
        try await Task.sleep(for: .milliseconds(20))
        if ContinuousClock.now - start > .seconds(300) {
            print("gave up after 300 s")
            break
        }
    }
    let elapsed = ContinuousClock.now - start
    stage.requestStop()
    try await running.value
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let delivered = metric(metrics, "auditpipe_sink_delivered_total", output: output)
    return (delivered / seconds, delivered, seconds, latencyQuantiles(metrics, output: output))
}

try await run()
