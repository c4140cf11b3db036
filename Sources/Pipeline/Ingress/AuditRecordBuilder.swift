import AuditModel
import Kafka
import Synchronization

/// Where and when a request arrived: what every record made from it carries in its headers.
struct RequestOrigin: Sendable {
    let cluster: String
    /// RFC 3339 with nanoseconds, UTC.
    let receivedAt: String
    /// The HTTP peer's address.
    let sourceIP: String
}

/// One item of an EventList that was not published as an event, and why.
struct ItemProblem: Sendable, Equatable {
    /// Position in the EventList's `items`, from 0.
    let index: Int
    let reason: String
}

/// The records a request body becomes.
struct BuiltRecords: Sendable {
    /// One per audit event, for the raw topic: the event's own bytes, keyed `<cluster>/<namespace>`.
    var events: [KafkaRecord] = []
    /// Items that are not audit events (or too large), for the rejects topic, with the reason.
    var rejects: [KafkaRecord] = []
    var problems: [ItemProblem] = []
}

/// A body that cannot be taken at all (answered 400): not JSON, or not an Event or EventList.
struct BodyProblem: Error, Sendable, Equatable {
    let message: String
}

/// Splits a decoded webhook body (an `EventList` or a single `Event`) into Kafka records without re-encoding:
/// each event is the exact byte span it had in the body (`EventListSplitter`), parsed once to check that it is
/// an audit event and to read its `objectRef.namespace` for the key. Owns parsers and buffers, so one request
/// uses it at a time (`AuditRecordBuilderPool` hands them out).
final class AuditRecordBuilder: @unchecked Sendable {
    private let splitter = EventListSplitter()
    private let document = JSONDocument()
    private let topics: PipelineTopics
    private let maxEventSize: Int

    private static let objectRef = ByteConstant("objectRef"), namespace = ByteConstant("namespace")

    init(topics: PipelineTopics, maxEventSize: Int) {
        self.topics = topics
        self.maxEventSize = maxEventSize
    }

    func build(_ body: UnsafeRawBufferPointer, origin: RequestOrigin) throws(BodyProblem) -> BuiltRecords {
        let split: SplitBody
        do {
            split = try splitter.split(body)
        } catch {
            throw BodyProblem(message: "malformed JSON: \(error)")
        }
        let headers = [KafkaHeader("cluster", origin.cluster), KafkaHeader("received-at", origin.receivedAt),
                       KafkaHeader("source-ip", origin.sourceIP)]
        let keyPrefix = Array("\(origin.cluster)/".utf8)
        var records = BuiltRecords()
        switch split {
        case .object(let span, let kind):
            if kind == "EventList" { throw BodyProblem(message: "an EventList without an items array") }
            let bytes = UnsafeRawBufferPointer(rebasing: body[span.range])
            guard bytes.count <= maxEventSize else {
                throw BodyProblem(message: "the event is \(bytes.count) bytes, more than max_event_size (\(maxEventSize))")
            }
            switch inspect(bytes) {
            case .event(let namespace):
                records.events.append(event(bytes, key: keyPrefix + namespace, headers: headers))
            case .rejected(let reason):
                throw BodyProblem(message: "the body is neither an EventList nor an audit Event: \(reason)")
            }
        case .list(let spans):
            records.events.reserveCapacity(spans.count)
            for (index, span) in spans.enumerated() {
                let bytes = UnsafeRawBufferPointer(rebasing: body[span.range])
                let outcome: Inspection
                if bytes.count > maxEventSize {
                    outcome = .rejected("an event of \(bytes.count) bytes, more than max_event_size (\(maxEventSize)); "
                        + "the rejects topic keeps its first \(maxEventSize) bytes")
                } else if span.kind != .object {
                    outcome = .rejected("not an audit event: a JSON \(AuditEventShape.describe(span.kind)), not an object")
                } else {
                    outcome = inspect(bytes)
                }
                switch outcome {
                case .event(let namespace):
                    records.events.append(event(bytes, key: keyPrefix + namespace, headers: headers))
                case .rejected(let reason):
                    records.problems.append(ItemProblem(index: index, reason: reason))
                    records.rejects.append(reject(bytes, reason: reason, headers: headers))
                }
            }
        case .array:
            throw BodyProblem(message: "a JSON array: the body must be an EventList or a single Event")
        case .scalar:
            throw BodyProblem(message: "a JSON value that is not an object: the body must be an EventList or a single Event")
        }
        return records
    }

    private enum Inspection {
        /// An audit event, and its namespace (empty for cluster-scoped objects and requests without objectRef).
        case event(namespace: UnsafeBufferPointer<UInt8>)
        case rejected(String)
    }

    /// Parses one item: is it an audit event, and in which namespace. The namespace bytes live in the parser.
    private func inspect(_ bytes: UnsafeRawBufferPointer) -> Inspection {
        do {
            try document.parse(bytes)
        } catch {
            return .rejected("not JSON: \(error)")
        }
        if let problem = AuditEventShape.problem(in: document, stageTime: AuditEventShape.stageTime(in: document)) {
            return .rejected(problem)
        }
        let objectRef = document.child(JSONDocument.root, Self.objectRef.view)
        let namespace = document.string(document.child(objectRef, Self.namespace.view))
        return .event(namespace: namespace?.buffer ?? UnsafeBufferPointer(start: nil, count: 0))
    }

    private func event(_ bytes: UnsafeRawBufferPointer, key: [UInt8], headers: [KafkaHeader]) -> KafkaRecord {
        KafkaRecord(topic: topics.raw, key: key, value: Array(bytes), headers: headers)
    }

    /// The item as it arrived (cut to max_event_size: Kafka would refuse more), with why it was not published.
    private func reject(_ bytes: UnsafeRawBufferPointer, reason: String, headers: [KafkaHeader]) -> KafkaRecord {
        var rejectHeaders = [KafkaHeader("reason", reason), KafkaHeader("stage", "ingress")] + headers
        if bytes.count > maxEventSize { rejectHeaders.append(KafkaHeader("original-size", "\(bytes.count)")) }
        return KafkaRecord(topic: topics.rejects, value: Array(bytes.prefix(maxEventSize)), headers: rejectHeaders)
    }
}

/// Builders for concurrent requests: each request borrows one and gives it back, so parsers and their buffers
/// are reused instead of made per request.
final class AuditRecordBuilderPool: Sendable {
    private let idle: Mutex<[AuditRecordBuilder]>
    private let make: @Sendable () -> AuditRecordBuilder

    init(topics: PipelineTopics, maxEventSize: Int) {
        idle = Mutex([])
        make = { AuditRecordBuilder(topics: topics, maxEventSize: maxEventSize) }
    }

    func withBuilder<Result>(_ body: (AuditRecordBuilder) throws(BodyProblem) -> Result) throws(BodyProblem) -> Result {
        let builder = idle.withLock { $0.popLast() } ?? make()
        defer { idle.withLock { if $0.count < 64 { $0.append(builder) } } }
        return try body(builder)
    }
}
