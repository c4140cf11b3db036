import CRdKafka
import Foundation

/// One consumed message, copied out of librdkafka's buffers.
public struct KafkaMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
    public let headers: [KafkaHeader]
    /// Broker or producer timestamp, ms since the epoch (nil if the broker gave none).
    public let timestamp: Int64?

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

/// A consumed message seen in place, in librdkafka's buffers: nothing is copied or
/// allocated until asked for. Valid only inside the `poll(maxMessages:timeout:visit:)`
/// call that handed it out (the pointers die with the message).
public struct KafkaMessageView {
    fileprivate let pointer: UnsafeMutablePointer<rd_kafka_message_t>

    public var partition: Int32 { pointer.pointee.partition }
    public var offset: Int64 { pointer.pointee.offset }

    /// The value's bytes (empty for a null value).
    public var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer.pointee.payload, count: pointer.pointee.payload == nil ? 0 : pointer.pointee.len)
    }

    /// The key's bytes, nil for a null key.
    public var key: UnsafeRawBufferPointer? {
        pointer.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: pointer.pointee.key_len) }
    }

    /// The topic's name (allocates: prefer knowing the topic you subscribed to).
    public var topic: String { pointer.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "" }

    /// Broker or producer timestamp, ms since the epoch (nil if the broker gave none).
    public var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let value = rd_kafka_message_timestamp(pointer, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : value
    }

    /// The last header of that name, in place (nil if absent). `name` must be NUL-terminated
    /// C text: pass a Swift string literal or a `StaticString`'s pointer.
    public func header(_ name: UnsafePointer<CChar>) -> UnsafeRawBufferPointer? {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(pointer, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : size)
    }

    /// Every header, copied.
    public var headers: [KafkaHeader] {
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        guard rd_kafka_message_headers(pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var index = 0
        var name: UnsafePointer<CChar>?
        var headerValue: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return headers
    }

    /// The whole message, copied out.
    public func copy() -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset, key: key.map(Array.init), value: Array(value),
                     headers: headers, timestamp: timestamp)
    }
}

public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// What an offset commit did: the offsets the group stored, and the partitions whose commit failed.
public struct CommitResult: Sendable {
    public let committed: [TopicPartition: Int64]
    public let failed: [TopicPartition: KafkaError]
}

/// What a rebalance did to this consumer.
public enum RebalanceEvent: Sendable, Equatable {
    case assigned([TopicPartition])
    case revoked([TopicPartition])
}

/// A consumer-group member with manual commits: offsets move only when the
/// caller commits them, so processing is at-least-once. Not for concurrent
/// use: one thread polls, commits, pauses and resumes.
public final class KafkaConsumer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let rebalance: RebalanceRelay
    private var closed = false

    /// `onRebalance` runs on the polling thread, inside `poll`, before partitions
    /// are released (revoked) or after they are taken (assigned). `onCommit` runs there too, with
    /// the result of each commit (the way to learn how asynchronous commits went).
    public init(configuration: KafkaConfiguration, groupID: String,
                onRebalance: @escaping @Sendable (RebalanceEvent) -> Void = { _ in },
                onCommit: (@Sendable (CommitResult) -> Void)? = nil) throws {
        var settings = configuration
        settings["group.id"] = groupID
        settings["enable.auto.commit"] = configuration["enable.auto.commit"] ?? "false"
        settings["enable.auto.offset.store"] = configuration["enable.auto.offset.store"] ?? "false"
        // A group seen for the first time starts at the earliest retained offset (DESIGN.md).
        settings["auto.offset.reset"] = configuration["auto.offset.reset"] ?? "earliest"
        let conf = try settings.makeNative()
        let relay = RebalanceRelay(onRebalance, onCommit: onCommit)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(relay).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        if onCommit != nil { rd_kafka_conf_set_offset_commit_cb(conf, commitCallback) }
        let handle = try KafkaConfiguration.createClient(RD_KAFKA_CONSUMER, conf, what: "a Kafka consumer")
        self.handle = handle
        rebalance = relay
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        close()
        rd_kafka_destroy(handle)
    }

    public func subscribe(_ topics: [String]) throws {
        let list = PartitionList(topics.map { TopicPartition($0, RD_KAFKA_PARTITION_UA) })
        try check(list.with { rd_kafka_subscribe(handle, $0) }, "subscribe to \(topics.joined(separator: ", "))")
    }

    /// Reads these partitions from these offsets, outside any group's assignment: no group membership,
    /// no rebalance, and the group's committed offsets are neither read nor moved (nothing is committed
    /// unless `commit` is called). For readers of history such as replay. Replaces any earlier assignment.
    public func assign(_ startOffsets: [TopicPartition: Int64]) throws {
        let list = PartitionList(startOffsets.keys.sorted(), offsets: startOffsets)
        try check(list.with { rd_kafka_assign(handle, $0) }, "assign partitions")
    }

    /// Waits up to `timeout` for the first message, then takes what else is ready, up to `maxMessages`.
    /// Consumer errors that are not fatal (a broker going away) are skipped: librdkafka recovers by itself.
    public func poll(maxMessages: Int, timeout: Duration) throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        try poll(maxMessages: maxMessages, timeout: timeout) { messages.append($0.copy()) }
        return messages
    }

    /// As `poll(maxMessages:timeout:)`, but hands each message to `visit` in place, without copying
    /// it: the hot path of stages that copy only what they keep. Returns how many messages were visited.
    /// Rebalance callbacks run inside this call, on this thread. With `enable.partition.eof=true`,
    /// `endOfPartition` learns when a partition has been read up to its end (partition, next offset): the way to
    /// tell that offsets holding no message (transaction markers) have been passed.
    @discardableResult
    public func poll(maxMessages: Int, timeout: Duration, endOfPartition: ((Int32, Int64) -> Void)? = nil,
                     visit: (KafkaMessageView) throws -> Void) throws -> Int {
        var visited = 0
        var wait = Self.milliseconds(timeout)
        while visited < maxMessages {
            guard let pointer = rd_kafka_consumer_poll(handle, wait) else { break }
            defer { rd_kafka_message_destroy(pointer) }
            wait = 0
            let error = pointer.pointee.err
            if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    endOfPartition?(pointer.pointee.partition, pointer.pointee.offset)
                    continue
                }
                var fatalText = [CChar](repeating: 0, count: 512)
                if rd_kafka_fatal_error(handle, &fatalText, fatalText.count) != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(code: Int32(error.rawValue), context: "consumer")
                }
                continue
            }
            try visit(KafkaMessageView(pointer: pointer))
            visited += 1
        }
        return visited
    }

    /// Commits the next offset to read of each partition: synchronously (returns once the group
    /// stored them), or asynchronously (returns at once; a later commit supersedes a lost one, so
    /// a stream of commits ended by a synchronous one loses nothing).
    public func commit(_ nextOffsets: [TopicPartition: Int64], asynchronously: Bool = false) throws {
        guard !nextOffsets.isEmpty else { return }
        let list = PartitionList(nextOffsets.keys.sorted(), offsets: nextOffsets)
        try check(list.with { rd_kafka_commit(handle, $0, asynchronously ? 1 : 0) }, "commit offsets")
    }

    /// The group's committed next offsets (nil: nothing committed yet).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws -> [TopicPartition: Int64?] {
        let list = PartitionList(partitions)
        try check(list.with { rd_kafka_committed(handle, $0, Self.milliseconds(timeout)) }, "read committed offsets")
        return list.offsets().mapValues { $0 >= 0 ? $0 : nil }
    }

    /// Stops fetching from partitions (their messages stay in Kafka) until `resume`.
    public func pause(_ partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        try check(PartitionList(partitions).with { rd_kafka_pause_partitions(handle, $0) }, "pause \(partitions)")
    }

    public func resume(_ partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        try check(PartitionList(partitions).with { rd_kafka_resume_partitions(handle, $0) }, "resume \(partitions)")
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws -> [TopicPartition] {
        var pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try check(rd_kafka_assignment(handle, &pointer), "read assignment")
        guard let pointer else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(pointer) }
        return PartitionList.entries(pointer).map(\.0).sorted()
    }

    /// For each partition, the first offset whose timestamp is at or after `timestamp` (ms since the epoch);
    /// nil when no message is that recent.
    public func offsets(atOrAfter timestamp: Int64, for partitions: [TopicPartition],
                        timeout: Duration = .seconds(10)) throws -> [TopicPartition: Int64?] {
        let list = PartitionList(partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, timestamp) }))
        try check(list.with { rd_kafka_offsets_for_times(handle, $0, Self.milliseconds(timeout)) }, "offsets for times")
        return list.offsets().mapValues { $0 >= 0 ? $0 : nil }
    }

    /// The low and high watermarks of a partition (first offset kept, next offset to be written).
    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0, high: Int64 = 0
        try check(rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high,
                                                   Self.milliseconds(timeout)), "watermarks of \(partition)")
        return (low, high)
    }

    /// The watermarks librdkafka last learned for a partition from its fetch responses: no request, so
    /// never blocked behind a long-polling fetch on the broker's connection (a query is, for up to
    /// fetch.wait.max.ms per partition). nil until the partition has been fetched.
    public func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1, high: Int64 = -1
        guard rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
              high >= 0 else { return nil }
        return (low, high)
    }

    /// The next offset the application will be handed, per partition (local; a partition this member has
    /// not yet been handed a message of is left out).
    public func positions(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        let list = PartitionList(partitions)
        guard list.with({ rd_kafka_position(handle, $0) }) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        return list.offsets().filter { $0.value >= 0 }
    }

    /// Leaves the group (revoking partitions through the rebalance callback).
    public func close() {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_consumer_close(handle)
    }

    // MARK: - Helpers

    private func check(_ result: rd_kafka_resp_err_t, _ context: String) throws {
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: Int32(result.rawValue), context: context) }
    }

    /// A duration as librdkafka's millisecond timeouts (sub-second parts count; never negative).
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return seconds < 0 ? 0 : Int32.max }
        return Int32(clamping: max(0, total.partialValue + attoseconds / 1_000_000_000_000_000))
    }
}

/// Hands rebalances to Swift and applies them (librdkafka's eager protocol:
/// assign on assignment, unassign on revocation), and commit results.
final class RebalanceRelay: @unchecked Sendable {
    let handler: @Sendable (RebalanceEvent) -> Void
    let commitHandler: (@Sendable (CommitResult) -> Void)?

    init(_ handler: @escaping @Sendable (RebalanceEvent) -> Void, onCommit: (@Sendable (CommitResult) -> Void)?) {
        self.handler = handler
        commitHandler = onCommit
    }
}

private func commitCallback(_ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
                            _ offsets: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                            _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque, error != RD_KAFKA_RESP_ERR__NO_OFFSET else { return }
    let relay = Unmanaged<RebalanceRelay>.fromOpaque(opaque).takeUnretainedValue()
    var committed: [TopicPartition: Int64] = [:]
    var failed: [TopicPartition: KafkaError] = [:]
    if let offsets {
        for index in 0..<Int(offsets.pointee.cnt) {
            let element = offsets.pointee.elems[index]
            let partition = TopicPartition(String(cString: element.topic), element.partition)
            let partitionError = element.err != RD_KAFKA_RESP_ERR_NO_ERROR ? element.err : error
            if partitionError == RD_KAFKA_RESP_ERR_NO_ERROR {
                committed[partition] = element.offset
            } else {
                failed[partition] = KafkaError(code: Int32(partitionError.rawValue), context: "commit \(partition)")
            }
        }
    }
    relay.commitHandler?(CommitResult(committed: committed, failed: failed))
}

private func rebalanceCallback(_ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
                               _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                               _ opaque: UnsafeMutableRawPointer?) {
    guard let handle, let opaque else { return }
    let relay = Unmanaged<RebalanceRelay>.fromOpaque(opaque).takeUnretainedValue()
    let list = partitions.map { PartitionList.entries($0).map(\.0).sorted() } ?? []
    if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
        rd_kafka_assign(handle, partitions)
        relay.handler(.assigned(list))
    } else {
        // The handler finishes (or abandons) work on these partitions before they are released.
        relay.handler(.revoked(list))
        rd_kafka_assign(handle, nil)
    }
}

/// An owned rd_kafka_topic_partition_list_t. Use `with`: it keeps the list alive
/// for the whole C call (Swift may otherwise free it right after the pointer is read).
final class PartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    func with<Result>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(self) { try body(pointer) }
    }

    init(_ partitions: [TopicPartition], offsets: [TopicPartition: Int64] = [:]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))
        for partition in partitions {
            let entry = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
            if let offset = offsets[partition] { entry?.pointee.offset = offset }
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    func offsets() -> [TopicPartition: Int64] {
        Dictionary(with { Self.entries($0) }.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    static func entries(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64)] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return (TopicPartition(String(cString: element.topic), element.partition), element.offset)
        }
    }
}
