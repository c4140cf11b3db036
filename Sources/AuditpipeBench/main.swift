import AuditModel
import Foundation
import Rules
import Workload

/// `make bench`: the rule engine's throughput on one core, over a generated
/// corpus of realistic audit events with Falco's upstream rules loaded.
/// Prints numbers; asserts nothing (benchmarks are not tests).
struct BenchOptions {
    var falcoRules = "../shared/falco/k8s_audit_rules.yaml"
    var extraRules: [String] = []
    var events = 200_000
    var rounds = 5
    var matching = RuleMatching.first
    var writeCorpus: String?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--falco-rules": falcoRules = iterator.next() ?? falcoRules
            case "--rules": if let file = iterator.next() { extraRules.append(file) }
            case "--events": events = iterator.next().flatMap(Int.init) ?? events
            case "--rounds": rounds = iterator.next().flatMap(Int.init) ?? rounds
            case "--all": matching = .all
            case "--write-corpus": writeCorpus = iterator.next()
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

func nanosecondsNow() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

func percentile(_ sorted: [UInt64], _ fraction: Double) -> UInt64 {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

let options = BenchOptions(arguments: CommandLine.arguments)
var generator = CorpusGenerator(seed: 42)
let corpus = generator.events(options.events)
let totalBytes = corpus.reduce(0) { $0 + $1.count }
print("corpus: \(corpus.count) events, average \(totalBytes / corpus.count) bytes")
if let path = options.writeCorpus {
    // The corpus as JSON lines, for `auditpipe check` and other tools.
    let lines = corpus.flatMap { $0 + [UInt8(ascii: "\n")] }
    guard FileManager.default.createFile(atPath: path, contents: Data(lines)) else {
        print("cannot write \(path)")
        exit(2)
    }
    print("corpus written to \(path)")
}

let ruleSet: RuleSet
do {
    ruleSet = try RuleSet.load(files: [options.falcoRules] + options.extraRules, matching: options.matching)
} catch {
    print("cannot load rules: \(error)")
    exit(2)
}
print("rules: \(ruleSet.statistics.rules) (\(options.falcoRules)\(options.extraRules.isEmpty ? "" : " + " + options.extraRules.joined(separator: ", "))), rule_matching \(options.matching.rawValue)")

// Parsing alone, for scale.
let document = JSONDocument()
var parseBest = UInt64.max
for _ in 0..<options.rounds {
    let start = nanosecondsNow()
    for event in corpus { try? document.parse(event) }
    parseBest = min(parseBest, nanosecondsNow() - start)
}
print(String(format: "parse only (simdjson DOM): %.0f events/s, %.0f MB/s",
             Double(corpus.count) / (Double(parseBest) / 1e9), Double(totalBytes) / (Double(parseBest) / 1e3)))

// What `auditpipe check` does per event: parse, evaluate candidate rules, encode alerts as JSON.
let evaluator = ruleSet.makeEvaluator(hostname: "bench")
var alertCount = 0
var encodedBytes = 0
var best = UInt64.max
var totals: [UInt64] = []
for _ in 0..<options.rounds {
    alertCount = 0
    encodedBytes = 0
    let start = nanosecondsNow()
    for event in corpus {
        event.withUnsafeBytes { raw in
            try? evaluator.evaluate(raw, cluster: "bench", origin: nil) { alert in
                alertCount += 1
                encodedBytes += AlertEncoder.json(alert).utf8.count
            }
        }
    }
    let elapsed = nanosecondsNow() - start
    totals.append(elapsed)
    best = min(best, elapsed)
}
totals.sort()
let median = totals[totals.count / 2]
print(String(format: "check (1 core): %.0f events/s best, %.0f events/s median of %d rounds, %.0f MB/s; %d alerts per round (%.2f%%)",
             Double(corpus.count) / (Double(best) / 1e9), Double(corpus.count) / (Double(median) / 1e9), options.rounds,
             Double(totalBytes) / (Double(best) / 1e3), alertCount, 100 * Double(alertCount) / Double(corpus.count)))

// Per-event latency on one pass.
var latencies: [UInt64] = []
latencies.reserveCapacity(corpus.count)
for event in corpus {
    let start = nanosecondsNow()
    event.withUnsafeBytes { raw in
        try? evaluator.evaluate(raw, cluster: "bench", origin: nil) { alert in encodedBytes += AlertEncoder.json(alert).utf8.count }
    }
    latencies.append(nanosecondsNow() - start)
}
latencies.sort()
print("per-event latency: p50 \(percentile(latencies, 0.5)) ns, p99 \(percentile(latencies, 0.99)) ns, p99.9 \(percentile(latencies, 0.999)) ns, max \(latencies.last!) ns")
