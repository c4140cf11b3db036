/// Everything evaluation needs about the event at hand: its parsed JSON, the
/// values of the fields rules asked for (computed at most once per event),
/// and where it came from. One per worker thread, reused for every event, so
/// evaluating allocates nothing once its buffers have grown.
public final class EventContext {
    public let document = JSONDocument()
    public let arena = ByteArena()

    /// The raw bytes of the current event (for jevt.obj), valid during evaluation.
    public private(set) var raw = ByteView.empty
    /// Cluster name (from the path, the credential, or the Kafka header): `ka.cluster.name`.
    public var cluster = ByteView.empty
    /// Host name that alerts report.
    public var hostname = ByteView.empty

    private var timeGeneration: UInt32 = 0
    private var cachedTime: Int64?

    /// The event's time in ns since the epoch: its stageTimestamp, as the k8saudit
    /// plugin uses. Nil when that is missing or not RFC 3339: the plugin then drops
    /// the event (it does not fall back to requestReceivedTimestamp).
    public var eventTime: Int64? {
        if timeGeneration != generation {
            timeGeneration = generation
            cachedTime = AuditEventShape.stageTime(in: document)
        }
        return cachedTime
    }

    /// Values of all fields computed for this event, back to back. Raw
    /// buffers, not arrays: this is the innermost loop of evaluation, and
    /// arrays here cost exclusivity and uniqueness checks on every access.
    private var pool: UnsafeMutablePointer<ByteView>
    private var poolCount = 0
    private var poolCapacity = 1024
    private var slotCapacity: Int
    private var slotStart: UnsafeMutablePointer<Int32>
    private var slotCount: UnsafeMutablePointer<Int32>
    private var slotGeneration: UnsafeMutablePointer<UInt32>
    private var generation: UInt32 = 1

    /// A context for `slots` distinct fields (see `FieldCatalog.slotCount`).
    public init(slots: Int) {
        slotCapacity = max(slots, 1)
        pool = .allocate(capacity: poolCapacity)
        slotStart = .allocate(capacity: slotCapacity)
        slotCount = .allocate(capacity: slotCapacity)
        slotGeneration = .allocate(capacity: slotCapacity)
        slotGeneration.initialize(repeating: 0, count: slotCapacity)
        slotStart.initialize(repeating: 0, count: slotCapacity)
        slotCount.initialize(repeating: 0, count: slotCapacity)
    }

    deinit {
        pool.deallocate()
        slotStart.deallocate()
        slotCount.deallocate()
        slotGeneration.deallocate()
    }

    /// Parses the next event. The bytes must stay valid until the next `load`.
    public func load(_ bytes: UnsafeRawBufferPointer) throws {
        startEvent()
        raw = ByteView(base: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        try document.parse(bytes)
    }

    private func startEvent() {
        arena.reset()
        poolCount = 0
        generation &+= 1
        if generation == 0 {
            // Wrapped after 4 billion events: forget every cached slot for real.
            slotGeneration.update(repeating: 0, count: slotCapacity)
            generation = 1
        }
    }

    /// The values of a field for the current event, extracting them on first use.
    @inline(__always)
    public func values(of field: FieldExtractor) -> FieldValues {
        let slot = field.slot
        if slotGeneration[slot] == generation {
            return FieldValues(start: Int(slotStart[slot]), count: Int(slotCount[slot]))
        }
        let start = poolCount
        field.extract(self)
        let count = poolCount - start
        slotStart[slot] = Int32(start)
        slotCount[slot] = Int32(count)
        slotGeneration[slot] = generation
        return FieldValues(start: start, count: count)
    }

    @inline(__always)
    public func value(at index: Int) -> ByteView { pool[index] }

    /// Called by extractors: one more value of the field being extracted.
    @inline(__always)
    public func emit(_ value: ByteView) {
        if poolCount == poolCapacity { growPool() }
        (pool + poolCount).initialize(to: value)
        poolCount += 1
    }

    private func growPool() {
        let bigger = UnsafeMutablePointer<ByteView>.allocate(capacity: poolCapacity * 2)
        bigger.moveInitialize(from: pool, count: poolCount)
        pool.deallocate()
        pool = bigger
        poolCapacity *= 2
    }

    /// The values of a field as strings (for output fields and tests).
    public func strings(of field: FieldExtractor) -> [String] {
        let range = values(of: field)
        return (range.start..<(range.start + range.count)).map { pool[$0].string }
    }
}

/// Where a field's values sit in the context's pool: `count == 0` means the field has no value.
public struct FieldValues {
    public let start: Int
    public let count: Int

    @inline(__always) public var isEmpty: Bool { count == 0 }
}

/// Computes one field (with its argument, if any) of an event. Subclasses per field kind.
/// Each distinct field of a rule set gets its own slot in the per-event cache.
open class FieldExtractor: @unchecked Sendable {
    public let name: String
    public let argument: String?
    public let type: FieldType
    public let isList: Bool
    public internal(set) var slot: Int = 0

    public init(name: String, argument: String?, type: FieldType, isList: Bool) {
        self.name = name
        self.argument = argument
        self.type = type
        self.isList = isList
    }

    /// Emits the field's values for the context's current event.
    open func extract(_ context: EventContext) {}

    /// `name` or `name[arg]`, as Falco prints it in output_fields.
    public var displayName: String { argument.map { "\(name)[\($0)]" } ?? name }
}

public enum FieldType: String, Sendable {
    case string
    case uint64
}
