import Workload

/// The events a load run sends: templates taken in turn, each sent with a fresh auditID (`LoadAuditID`: this
/// run's tag, the request's number, the item's place in it) and the current time as its timestamps.
public struct LoadEvents: Sendable {
    public let templates: [EventTemplate]
    /// This run's tag, the first part of its events' auditIDs.
    public let runTag: UInt32

    public init(templates: [EventTemplate], runTag: UInt32 = UInt32.random(in: 0...UInt32.max)) {
        precondition(!templates.isEmpty, "a load run needs events")
        self.templates = templates
        self.runTag = runTag
    }

    /// CorpusGenerator's mix (`count` distinct events, sent in turn) or the built-in sample.
    public static func generated(count: Int, seed: UInt64) -> [EventTemplate] {
        var generator = CorpusGenerator(seed: seed)
        return generator.events(count).compactMap(EventTemplate.init)
    }

    public static func sample() -> [EventTemplate] {
        SampleEvents.events().compactMap(EventTemplate.init)
    }

    /// Appends event `index` of the run (the templates in turn), as item `item` of request `request`.
    public func append(_ index: Int, request: Int, item: Int, timestamp: [UInt8], to out: inout [UInt8]) {
        let template = templates[index % templates.count]
        let id = LoadAuditID.make(run: runTag, request: UInt32(truncatingIfNeeded: request),
                                  item: UInt16(truncatingIfNeeded: item), tail: template.bytes[template.auditIDRange])
        template.append(to: &out, auditID: id, timestamp: timestamp)
    }

    /// Request `request`'s EventList: `count` events from `first` on.
    public func eventList(request: Int, first: Int, count: Int) -> [UInt8] {
        let timestamp = Array(AuditTimestamp.now().utf8)
        var bytes = EventListBody.prefix
        bytes.reserveCapacity(count * (templates[0].bytes.count + 200))
        for item in 0..<count {
            if item > 0 { bytes.append(UInt8(ascii: ",")) }
            append(first + item, request: request, item: item, timestamp: timestamp, to: &bytes)
        }
        return bytes + EventListBody.suffix
    }
}

extension LoadEvents {
    /// `count` events as JSON lines (numbered as if sent in requests of `batchSize`), handed to `write` in
    /// chunks of about a MB.
    public func jsonLines(count: Int, batchSize: Int, write: ([UInt8]) throws -> Void) rethrows {
        var chunk: [UInt8] = []
        var timestamp = Array(AuditTimestamp.now().utf8)
        for index in 0..<count {
            if index % batchSize == 0 { timestamp = Array(AuditTimestamp.now().utf8) }
            append(index, request: index / batchSize, item: index % batchSize, timestamp: timestamp, to: &chunk)
            chunk.append(UInt8(ascii: "\n"))
            if chunk.count >= 1 << 20 {
                try write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try write(chunk) }
    }
}
