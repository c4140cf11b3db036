import Dispatch
import Kafka

/// Reads the planned offsets of every partition into batches of one partition each, on the calling thread
/// (the consumer is not for concurrent use). Partitions are assigned explicitly: the reader joins no group
/// and commits nothing. Messages of clusters not asked for are left out here, before any parsing.
final class ReplayReader {
    struct Options {
        /// Events per batch: a worker's unit of work.
        var batchEvents = 1000
        /// Messages taken per poll call.
        var pollChunk = 2000
        /// Reading gives up when no message arrives and no partition moves for this long.
        var stallTimeout: Duration = .seconds(60)
    }

    /// What the reader left out before evaluation.
    struct Counts {
        var read: Int64 = 0
        var otherClusters: Int64 = 0
    }

    private let consumer: KafkaConsumer
    private let spans: [PartitionSpan]
    private let clusters: [[UInt8]]
    private let options: Options
    private let progress: ReplayProgress
    private let submit: (RawBatch) -> Void

    /// `clusters`: the `cluster` header values to keep; empty keeps all.
    init(consumer: KafkaConsumer, spans: [PartitionSpan], clusters: [String], options: Options = Options(),
         progress: ReplayProgress, submit: @escaping (RawBatch) -> Void) {
        self.consumer = consumer
        self.spans = spans
        self.clusters = clusters.map { Array($0.utf8) }
        self.options = options
        self.progress = progress
        self.submit = submit
    }

    func run() throws -> Counts {
        var counts = Counts()
        guard !spans.isEmpty else { return counts }
        let spans = self.spans
        let topic = spans[0].partition.topic
        var slotOf: [Int32: Int] = [:]
        for (index, span) in spans.enumerated() { slotOf[span.partition.partition] = index }
        var next = spans.map(\.start)
        var finished = [Bool](repeating: false, count: spans.count)
        var remaining = spans.count
        var batches = spans.map { RawBatch(partition: $0.partition, expectedEvents: options.batchEvents) }
        var toPause: [TopicPartition] = []

        func close(_ slot: Int) {
            guard !finished[slot] else { return }
            finished[slot] = true
            remaining -= 1
            if !batches[slot].isEmpty { submit(batches[slot]) }
            batches[slot] = RawBatch(partition: spans[slot].partition)
            toPause.append(spans[slot].partition)
        }

        progress.start(spans)
        try consumer.assign(Dictionary(uniqueKeysWithValues: spans.map { ($0.partition, $0.start) }))
        let stallLimit = UInt64(options.stallTimeout.components.seconds) * 1_000_000_000
        var lastMove = DispatchTime.now().uptimeNanoseconds
        var ended = false
        while remaining > 0 {
            let visited = try consumer.poll(maxMessages: options.pollChunk, timeout: .milliseconds(100), endOfPartition: { partition, end in
                // Read to the end: offsets up to the span's end that held no message (transaction markers) are passed.
                guard let slot = slotOf[partition], !finished[slot], end >= spans[slot].end else { return }
                next[slot] = spans[slot].end
                close(slot)
                ended = true
            }) { message in
                guard let slot = slotOf[message.partition], !finished[slot] else { return }
                let offset = message.offset, end = spans[slot].end
                guard offset < end else { return close(slot) }
                counts.read += 1
                next[slot] = offset + 1
                if keeps(message) {
                    batches[slot].append(message)
                    if batches[slot].count >= options.batchEvents {
                        let bytes = batches[slot].byteCount
                        submit(batches[slot])
                        batches[slot] = RawBatch(partition: spans[slot].partition, expectedEvents: options.batchEvents,
                                                 expectedBytes: bytes)
                    }
                } else {
                    counts.otherClusters += 1
                }
                if offset + 1 >= end { close(slot) }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if visited > 0 || ended {
                lastMove = now
                ended = false
            } else if now &- lastMove > stallLimit {
                throw ReplayError.stalled(seconds: Int(options.stallTimeout.components.seconds),
                                          partitions: (0..<spans.count).filter { !finished[$0] }
                                              .map { "\(topic)[\(spans[$0].partition.partition)]" })
            }
            if !toPause.isEmpty {
                try consumer.pause(toPause)
                toPause.removeAll()
            }
            progress.read(next: next, events: counts.read)
        }
        return counts
    }

    private func keeps(_ message: KafkaMessageView) -> Bool {
        guard !clusters.isEmpty else { return true }
        let header = message.header("cluster") ?? UnsafeRawBufferPointer(start: nil, count: 0)
        return clusters.contains { $0.elementsEqual(header) }
    }
}
