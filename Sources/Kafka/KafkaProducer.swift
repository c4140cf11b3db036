import CRdKafka
import Foundation

/// One message to produce.
public struct KafkaRecord: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// nil: librdkafka's partitioner picks by key (murmur2, like the Java client).
    public var partition: Int32?
    /// The message's CreateTime, ms since the epoch; nil: the time it is produced. Set it to write
    /// history (replay's tests and tools that copy a topic keep the original times this way).
    public var timestamp: Int64?

    public init(topic: String, key: [UInt8]? = nil, value: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil,
                timestamp: Int64? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
        self.timestamp = timestamp
    }
}

public struct KafkaHeader: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = Array(value.utf8)
    }

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// Where the broker stored an acknowledged message.
public struct DeliveryReport: Sendable, Equatable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
}

/// An idempotent producer (acks=all) whose `send` returns when the broker has
/// acknowledged the message. Batching, retries and compression are
/// librdkafka's; delivery reports are served by one poll thread per producer.
public final class KafkaProducer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let poller: Thread
    private let stopping = ManagedAtomicFlag()
    private let stopped = DispatchSemaphore(value: 0)

    /// Defaults that the delivery guarantees depend on; `configuration` may override the others.
    public static let defaults: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": "5",
        "message.timeout.ms": "30000",
    ]

    public init(configuration: KafkaConfiguration) throws {
        var settings = KafkaConfiguration(Self.defaults.merging(configuration.properties) { _, given in given })
        settings["enable.idempotence"] = configuration["enable.idempotence"] ?? "true"
        let conf = try settings.makeNative()
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        let handle = try KafkaConfiguration.createClient(RD_KAFKA_PRODUCER, conf, what: "a Kafka producer")
        self.handle = handle
        let stopping = self.stopping, stopped = self.stopped
        let pollHandle = UnsafeSendable(handle)
        poller = Thread {
            // Serves delivery reports (and errors) until close.
            while !stopping.isSet { rd_kafka_poll(pollHandle.value, 100) }
            stopped.signal()
        }
        poller.name = "kafka-producer-poll"
        poller.start()
    }

    deinit {
        close(timeout: .seconds(5))
        rd_kafka_destroy(handle)
    }

    /// Sends one record; returns once the broker acknowledged it.
    public func send(_ record: KafkaRecord) async throws -> DeliveryReport {
        try await send([record])[0].get()
    }

    /// Sends records together; each result says whether and where it was stored.
    /// Returns when every record is acknowledged or has failed.
    public func send(_ records: [KafkaRecord]) async -> [Result<DeliveryReport, KafkaError>] {
        await withCheckedContinuation { continuation in
            send(records) { continuation.resume(returning: $0) }
        }
    }

    /// Queues records now, in order (records of one partition are stored in the order given, also
    /// across calls), and calls `completion` once with every record's result when the last one is
    /// acknowledged or has failed: on the producer's poll thread, or on the caller's when nothing
    /// could be queued. For stages that must order sends across threads without awaiting each.
    public func send(_ records: [KafkaRecord],
                     completion: @escaping @Sendable ([Result<DeliveryReport, KafkaError>]) -> Void) {
        guard !records.isEmpty else { return completion([]) }
        // After close nothing serves delivery reports: fail at once instead of waiting forever.
        if stopping.isSet {
            let closed = KafkaError(code: Int32(RD_KAFKA_RESP_ERR__DESTROY.rawValue), context: "producer is closed")
            return completion(records.map { _ in .failure(closed) })
        }
        let batch = DeliveryBatch(count: records.count, completion: completion)
        for (index, record) in records.enumerated() {
            if let error = enqueue(record, ticket: DeliveryTicket(batch: batch, index: index)) {
                batch.complete(index, .failure(error))
            }
        }
    }

    /// Waits until everything queued is acknowledged (or `timeout` passes).
    @discardableResult
    public func flush(timeout: Duration = .seconds(10)) -> Bool {
        rd_kafka_flush(handle, KafkaConsumer.milliseconds(timeout)) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Messages waiting in librdkafka's queues (not yet acknowledged).
    public var queuedCount: Int { Int(rd_kafka_outq_len(handle)) }

    /// Flushes and stops the poll thread; the producer cannot send afterwards.
    public func close(timeout: Duration = .seconds(10)) {
        guard stopping.setOnce() else { return }
        flush(timeout: timeout)
        stopped.wait()
        // Anything still undelivered fails now rather than waiting forever.
        rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        rd_kafka_poll(handle, 0)
    }

    /// Queues one record; on failure returns the error (and the ticket is released).
    private func enqueue(_ record: KafkaRecord, ticket: DeliveryTicket) -> KafkaError? {
        let opaque = Unmanaged.passRetained(ticket).toOpaque()
        let headers = rd_kafka_headers_new(record.headers.count)
        for header in record.headers {
            header.value.withUnsafeBytes { bytes in
                _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
            }
        }
        let result: rd_kafka_resp_err_t = record.topic.withCString { topic in
            record.value.withUnsafeBytes { value in
                (record.key ?? []).withUnsafeBytes { key in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 8)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topic
                    fields[1].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    fields[1].u.mem.size = value.count
                    fields[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[2].u.i = RD_KAFKA_MSG_F_COPY
                    fields[3].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[3].u.ptr = opaque
                    fields[4].vtype = RD_KAFKA_VTYPE_HEADERS
                    fields[4].u.headers = headers
                    var count = 5
                    if record.key != nil {
                        fields[count].vtype = RD_KAFKA_VTYPE_KEY
                        fields[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        fields[count].u.mem.size = key.count
                        count += 1
                    }
                    if let partition = record.partition {
                        fields[count].vtype = RD_KAFKA_VTYPE_PARTITION
                        fields[count].u.i32 = partition
                        count += 1
                    }
                    if let timestamp = record.timestamp {
                        fields[count].vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        fields[count].u.i64 = timestamp
                        count += 1
                    }
                    guard let error = rd_kafka_produceva(handle, fields, count) else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                    let code = rd_kafka_error_code(error)
                    rd_kafka_error_destroy(error)
                    return code
                }
            }
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_headers_destroy(headers)
            Unmanaged<DeliveryTicket>.fromOpaque(opaque).release()
            return KafkaError(code: Int32(result.rawValue), context: "produce to \(record.topic)")
        }
        return nil
    }
}

/// Called by librdkafka on the poll thread, once per message, with its ticket as opaque.
private func deliveryReportCallback(_ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?,
                                    _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let ticketPointer = message.pointee._private else { return }
    let ticket = Unmanaged<DeliveryTicket>.fromOpaque(ticketPointer).takeRetainedValue()
    let error = message.pointee.err
    if error != RD_KAFKA_RESP_ERR_NO_ERROR {
        ticket.batch.complete(ticket.index, .failure(KafkaError(code: Int32(error.rawValue), context: "delivery")))
        return
    }
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    ticket.batch.complete(ticket.index, .success(DeliveryReport(topic: topic, partition: message.pointee.partition,
                                                                offset: message.pointee.offset)))
}

/// One message's place in its batch.
final class DeliveryTicket: @unchecked Sendable {
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

/// Collects the delivery results of a batch and calls its completion when the last arrives.
final class DeliveryBatch: @unchecked Sendable {
    typealias Completion = @Sendable ([Result<DeliveryReport, KafkaError>]) -> Void
    private let lock = NSLock()
    private var results: [Result<DeliveryReport, KafkaError>?]
    private var remaining: Int
    private var completion: Completion?

    init(count: Int, completion: @escaping Completion) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.completion = completion
    }

    func complete(_ index: Int, _ result: Result<DeliveryReport, KafkaError>) {
        let finished: ([Result<DeliveryReport, KafkaError>], Completion)? = lock.withLock {
            guard results[index] == nil else { return nil }
            results[index] = result
            remaining -= 1
            guard remaining == 0, let completion else { return nil }
            self.completion = nil
            return (results.map { $0! }, completion)
        }
        if let (all, completion) = finished { completion(all) }
    }
}

/// A flag set once, read from any thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }

    /// Sets the flag; false if it was already set.
    func setOnce() -> Bool {
        lock.withLock {
            if value { return false }
            value = true
            return true
        }
    }
}

/// A C handle that librdkafka documents as thread-safe, carried across threads.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
