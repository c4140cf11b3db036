import Foundation
import Kafka
@testable import Pipeline
import Rules
import Settings
import Testing

/// The engine's parts that need no Kafka: commit order, backpressure decisions, ordered release,
/// and the evaluation core shared with replay.
@Suite struct EngineCoreTests {
    static let partition = TopicPartition("k8s-audit.raw", 3)

    static func batch(_ lane: BatchLane, _ sequence: UInt64, offsets: ClosedRange<Int64>) -> EngineBatch {
        var raw = RawBatch(partition: lane.partition)
        for offset in offsets {
            [UInt8]("{}".utf8).withUnsafeBytes { raw.append(offset: offset, value: $0, cluster: nil, timestamp: 0) }
        }
        return EngineBatch(raw: raw, lane: lane, sequence: sequence, closedAt: 0)
    }

    @Test func commitsNeverPassAnUnacknowledgedBatch() {
        var tracker = CommitTracker()
        let lane = BatchLane(partition: Self.partition, generation: 1)
        tracker.assign(lane)
        for (sequence, range) in [(0, 0...9), (1, 10...19), (2, 20...29)] as [(UInt64, ClosedRange<Int64>)] {
            tracker.handedOut(Self.batch(lane, sequence, offsets: range))
        }
        #expect(tracker.uncommitted == 3)
        tracker.acknowledged(lane, sequence: 2)
        tracker.acknowledged(lane, sequence: 1)
        #expect(tracker.commits().isEmpty, "batch 0 is not acknowledged: nothing may be committed")
        tracker.acknowledged(lane, sequence: 0)
        #expect(tracker.commits() == [Self.partition: 30])
        #expect(tracker.uncommitted == 0)
        tracker.committed([Self.partition: 30])
        #expect(tracker.commits().isEmpty)
        #expect(tracker.committedOffsets[Self.partition] == 30)
    }

    @Test func newsOfARevokedAssignmentIsIgnoredAndItsBatchesAbandoned() {
        var tracker = CommitTracker()
        let old = BatchLane(partition: Self.partition, generation: 1)
        tracker.assign(old)
        tracker.handedOut(Self.batch(old, 0, offsets: 0...4))
        tracker.handedOut(Self.batch(old, 1, offsets: 5...9))
        tracker.acknowledged(old, sequence: 0)
        #expect(tracker.commits(only: [Self.partition]) == [Self.partition: 5])
        #expect(tracker.remove(Self.partition) == 1)
        #expect(tracker.uncommitted == 0)
        let new = BatchLane(partition: Self.partition, generation: 2)
        tracker.assign(new)
        let stale = tracker.acknowledged(old, sequence: 1)
        #expect(!stale)
        #expect(tracker.commits().isEmpty)
    }

    @Test func fetchingPausesAtABoundAndResumesBelowHalfOfEvery() {
        var flow = FlowControl(maxBatches: 10, maxBytes: 1000, maxProducerQueued: 100)
        func load(_ batches: Int, _ bytes: Int, _ queued: Int) -> FlowControl.Load {
            FlowControl.Load(uncommittedBatches: batches, unacknowledgedBytes: bytes, producerQueued: queued)
        }
        #expect(flow.decide(load(9, 999, 99)) == .keep)
        #expect(flow.decide(load(9, 1000, 0)) == .pause(reason: "1000 bytes in flight"))
        #expect(flow.decide(load(9, 400, 0)) == .keep, "still above half of the batches")
        #expect(flow.decide(load(5, 500, 50)) == .resume)
        #expect(flow.decide(load(0, 0, 100)) == .pause(reason: "100 messages in the producer's queue"))
        #expect(flow.paused)
    }

    @Test func theSequencerReleasesEachLaneInOrderWhateverOrderWorkersFinishIn() async {
        let released = ReleasedBatches()
        let sequencer = PartitionSequencer { batch, _ in released.append(batch.lane, batch.sequence) }
        let lanes = (0..<4).map { BatchLane(partition: TopicPartition("raw", Int32($0)), generation: 1) }
        let batches = lanes.flatMap { lane in (0..<200).map { Self.batch(lane, UInt64($0), offsets: Int64($0)...Int64($0)) } }
            .shuffled()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                let mine = batches.enumerated().filter { $0.offset % 4 == worker }.map(\.element)
                group.addTask { for batch in mine { sequencer.complete(batch, BatchOutcome(rulesVersion: "v")) } }
            }
        }
        for lane in lanes {
            #expect(released.sequences(of: lane) == Array(0..<200))
        }
        for lane in lanes { sequencer.retire(lane, handedOut: 200) }
        #expect(sequencer.laneCount == 0)
    }

    static let rules = """
        - rule: Exec
          desc: exec into a pod
          condition: ka.target.subresource=exec
          output: exec by %ka.user.name in %ka.cluster.name
          priority: warning
          source: k8s_audit

        """

    static func event(_ id: String) -> String {
        """
        {"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"\(id)","stage":"ResponseStarted","verb":"create",\
        "user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"web","name":"api-1","subresource":"exec"},\
        "stageTimestamp":"2026-11-26T10:00:00.5Z"}
        """
    }

    @Test func theBatchEvaluatorGivesTheEvaluatorsAlertsAndTheRejectsInEventOrder() throws {
        let ruleSet = try RuleSet.parse(yaml: Self.rules)
        let values = [Self.event("e1"), "not json", Self.event("e2"), "{\"kind\":\"Pod\"}"]
        var batch = RawBatch(partition: Self.partition)
        for (index, value) in values.enumerated() {
            Array(value.utf8).withUnsafeBytes { bytes in
                Array((index == 2 ? "prod-us" : "prod-eu").utf8).withUnsafeBytes { cluster in
                    batch.append(offset: Int64(100 + index), value: bytes, cluster: cluster, timestamp: 1_000 + Int64(index))
                }
            }
        }
        #expect(batch.clusters == ["", "prod-eu", "prod-us"])
        let outcome = BatchEvaluator(ruleSet: ruleSet, hostname: "h").evaluate(batch)
        #expect(outcome.rulesVersion == ruleSet.version)
        #expect(outcome.items.count == 4)
        let evaluator = ruleSet.makeEvaluator(hostname: "h")
        let expected = try evaluator.evaluate(Array(Self.event("e1").utf8), cluster: "prod-eu",
                                              origin: Alert.Origin(topic: "k8s-audit.raw", partition: 3, offset: 100))
        guard case .alert(let first, let json, 0) = outcome.items[0] else { Issue.record("item 0: \(outcome.items[0])"); return }
        #expect([first] == expected)
        #expect(String(decoding: json, as: UTF8.self) == AlertEncoder.json(first))
        #expect(first.outputField(RuleEvaluator.rulesVersionField) == .string(ruleSet.version))
        guard case .reject(1, let reason) = outcome.items[1] else { Issue.record("item 1: \(outcome.items[1])"); return }
        #expect(reason.hasPrefix("not JSON"))
        guard case .alert(let second, _, 2) = outcome.items[2] else { Issue.record("item 2: \(outcome.items[2])"); return }
        #expect(second.cluster == "prod-us" && second.origin?.offset == 102 && second.output.hasSuffix("exec by alice in prod-us"))
        guard case .reject(3, "not an audit event: kind is Pod, not Event") = outcome.items[3] else {
            Issue.record("item 3: \(outcome.items[3])")
            return
        }
        let (records, events) = PipelineRecords.records(of: outcome, batch: batch, topics: PipelineTopics(), stage: "engine")
        #expect(records.map(\.topic) == ["k8s-audit.alerts", "k8s-audit.rejects", "k8s-audit.alerts", "k8s-audit.rejects"])
        #expect(events == [0, 1, 2, 3])
        #expect(records[1].value == Array("not json".utf8))
        #expect(records[1].headers.map(\.name) == ["reason", "stage", "cluster"])
        #expect(records[2].key == Array("prod-us".utf8))
        #expect(records[2].headers == [KafkaHeader("cluster", "prod-us"), KafkaHeader("rule", "Exec"), KafkaHeader("priority", "Warning")])
    }

    @Test func engineSettingsDecodeAndBadValuesArePlaced() throws {
        let config = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: """
            engine:
              rules: [a.yaml]
              rule_matching: all
              batch_max_events: 500
              batch_max_wait: 5ms
              workers: 3
              max_in_flight_bytes: 8MiB
              rules_watch_interval: 0s
            """, file: "auditpipe.yaml")
        #expect(config.engine.ruleMatching == .all)
        #expect(config.engine.batchMaxEvents == 500)
        #expect(config.engine.batchMaxWait.duration == .milliseconds(5))
        #expect(config.engine.workerCount == 3)
        #expect(config.engine.maxInFlightBytes.bytes == 8 << 20)
        #expect(config.engine.rulesWatchInterval.duration == .zero)
        #expect(config.engine.consumerGroup == "auditpipe-engine")
        for (yaml, message) in [("engine:\n  batch_max_events: 0\n", "must be at least 1, not 0"),
                                ("engine:\n  rule_matching: some\n", "'some' is not first or all")] {
            do {
                _ = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: yaml, file: "auditpipe.yaml")
                Issue.record("\(yaml) was accepted")
            } catch let errors as ConfigErrors {
                #expect(errors.errors.map(\.description).first?.hasPrefix("auditpipe.yaml:2:") == true)
                #expect(errors.errors.map(\.description).first?.contains(message) == true, "\(errors)")
            }
        }
    }
}

/// Releases seen by the sequencer test, from any thread.
final class ReleasedBatches: @unchecked Sendable {
    private let lock = NSLock()
    private var released: [BatchLane: [Int]] = [:]

    func append(_ lane: BatchLane, _ sequence: UInt64) {
        lock.withLock { released[lane, default: []].append(Int(sequence)) }
    }

    func sequences(of lane: BatchLane) -> [Int] { lock.withLock { released[lane] ?? [] } }
}
