/// One rule firing on one event, in the shape of Falco's JSON output plus
/// auditpipe's own keys (cluster, auditID, id, origin).
public struct Alert: Sendable, Equatable {
    /// Where the raw event sits in Kafka (empty offline).
    public struct Origin: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64

        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    /// Event time (stageTimestamp), ns since the epoch.
    public var time: Int64
    public var rule: String
    public var priority: Priority
    public var output: String
    public var outputFields: [(String, OutputFieldValue)]
    public var source: String
    public var tags: [String]
    public var hostname: String
    public var cluster: String
    public var auditID: String
    /// Deterministic: the same event and rule always give the same id.
    public var id: String
    public var origin: Origin?

    public init(time: Int64, rule: String, priority: Priority, output: String, outputFields: [(String, OutputFieldValue)],
                source: String, tags: [String], hostname: String, cluster: String, auditID: String, id: String,
                origin: Origin?) {
        self.time = time
        self.rule = rule
        self.priority = priority
        self.output = output
        self.outputFields = outputFields
        self.source = source
        self.tags = tags
        self.hostname = hostname
        self.cluster = cluster
        self.auditID = auditID
        self.id = id
        self.origin = origin
    }

    public static func == (lhs: Alert, rhs: Alert) -> Bool {
        lhs.time == rhs.time && lhs.rule == rhs.rule && lhs.priority == rhs.priority && lhs.output == rhs.output
            && lhs.outputFields.map(\.0) == rhs.outputFields.map(\.0)
            && lhs.outputFields.map(\.1) == rhs.outputFields.map(\.1) && lhs.source == rhs.source
            && lhs.tags == rhs.tags && lhs.hostname == rhs.hostname && lhs.cluster == rhs.cluster
            && lhs.auditID == rhs.auditID && lhs.id == rhs.id && lhs.origin == rhs.origin
    }

    public func outputField(_ name: String) -> OutputFieldValue? {
        outputFields.first { $0.0 == name }?.1
    }
}

/// A 128-bit identifier of (cluster, auditID, stage, rule), as 32 hex digits:
/// two 64-bit FNV-1a passes with different seeds, each finished with a
/// murmur3 mix. Not cryptographic; stable across processes and versions.
enum AlertID {
    static func make(cluster: String, auditID: String, stage: String, rule: String) -> String {
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x6c62_272e_07bb_0142
        for part in [cluster, auditID, stage, rule] {
            for byte in part.utf8 {
                first = (first ^ UInt64(byte)) &* 0x100_0000_01b3
                second = (second ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37_79b9
            }
            // A separator that cannot occur in UTF-8 text keeps ("ab","c") apart from ("a","bc").
            first = (first ^ 0xff) &* 0x100_0000_01b3
            second = (second ^ 0xff) &* 0x100_0000_01b3 &+ 0x9e37_79b9
        }
        return hex(mix(first)) + hex(mix(second ^ first))
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x = x &* 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x = x &* 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
