import Kafka

/// Raw audit events of one partition, in offset order, copied out of Kafka into one buffer:
/// the unit a worker evaluates (engine and replay) and the engine commits. One allocation
/// per batch instead of several per message (a value array, header strings, …).
public struct RawBatch: Sendable {
    /// One raw message: where its value sits in `storage`, and what Kafka said about it.
    public struct Event: Sendable {
        public let offset: Int64
        /// Kafka's timestamp (the raw topic's CreateTime: when ingress produced it), ms since the epoch; 0 if none.
        public let timestamp: Int64
        let start: Int
        let count: Int
        let cluster: Int32
    }

    public let partition: TopicPartition
    public private(set) var events: [Event] = []
    /// The values, back to back.
    private var storage: [UInt8] = []
    /// The distinct `cluster` header values of the batch (index 0: no header); a batch sees few.
    public private(set) var clusters: [String] = [""]
    private var clusterBytes: [[UInt8]] = [[]]
    private var lastCluster: Int32 = 0

    /// An empty batch; the capacities are hints (the previous batch's size is a good one).
    public init(partition: TopicPartition, expectedEvents: Int = 0, expectedBytes: Int = 0) {
        self.partition = partition
        events.reserveCapacity(expectedEvents)
        storage.reserveCapacity(expectedBytes)
    }

    public var count: Int { events.count }
    public var isEmpty: Bool { events.isEmpty }
    /// Bytes of event values held.
    public var byteCount: Int { storage.count }
    public var firstOffset: Int64? { events.first?.offset }
    public var lastOffset: Int64? { events.last?.offset }

    /// Copies a consumed message in (its value, `cluster` header and timestamp; nothing else).
    public mutating func append(_ message: KafkaMessageView) {
        append(offset: message.offset, value: message.value, cluster: message.header("cluster"),
               timestamp: message.timestamp ?? 0)
    }

    public mutating func append(offset: Int64, value: UnsafeRawBufferPointer, cluster: UnsafeRawBufferPointer?,
                                timestamp: Int64) {
        let start = storage.count
        storage.append(contentsOf: value)
        let clusterNumber = cluster.map { self.clusterIndex($0) } ?? 0
        events.append(Event(offset: offset, timestamp: timestamp, start: start, count: value.count, cluster: clusterNumber))
    }

    /// The index of a cluster name, added on first sight. Consecutive events mostly share one.
    private mutating func clusterIndex(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        if clusterBytes[Int(lastCluster)].elementsEqual(bytes) { return lastCluster }
        if let known = clusterBytes.firstIndex(where: { $0.elementsEqual(bytes) }) {
            lastCluster = Int32(known)
            return lastCluster
        }
        clusterBytes.append(Array(bytes))
        clusters.append(String(decoding: bytes, as: UTF8.self))
        lastCluster = Int32(clusters.count - 1)
        return lastCluster
    }

    /// The cluster an event came from (its `cluster` header; empty when it had none).
    public func cluster(of index: Int) -> String { clusters[Int(events[index].cluster)] }

    /// The event's bytes, valid inside `body` only.
    public func withValue<Result>(of index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let event = events[index]
        return try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[event.start..<(event.start + event.count)])) }
    }

    /// The event's bytes, copied (for rejects: the value exactly as it arrived).
    public func value(of index: Int) -> [UInt8] {
        let event = events[index]
        return Array(storage[event.start..<(event.start + event.count)])
    }
}
