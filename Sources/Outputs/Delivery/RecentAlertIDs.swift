import AuditModel

/// The ids of alerts delivered within the de-duplication window, in bounded memory: each id is
/// kept as 16 bytes (the engine's ids are 32 hex digits; other ids are hashed to 128 bits), ids
/// leave when they are older than the window, and past `capacity` the oldest leave first (at
/// very high rates the effective window is then shorter than configured).
public struct RecentAlertIDs: Sendable {
    struct Key: Hashable, Sendable {
        let high: UInt64
        let low: UInt64
    }

    public let window: Duration
    public let capacity: Int
    private var seenAt: [Key: ContinuousClock.Instant] = [:]
    /// Insertion order, for expiry: a ring over `order` starting at `head`.
    private var order: [(Key, ContinuousClock.Instant)] = []
    private var head = 0

    public static let defaultCapacity = 262_144

    public init(window: Duration, capacity: Int = RecentAlertIDs.defaultCapacity) {
        precondition(capacity >= 1, "a de-duplication window needs room for an id")
        self.window = window
        self.capacity = capacity
    }

    public var count: Int { seenAt.count }

    public func contains(_ id: String, now: ContinuousClock.Instant = .now) -> Bool {
        guard let seen = seenAt[Self.key(id)] else { return false }
        return now - seen < window
    }

    /// Remembers a delivered id (an id already remembered keeps its first time).
    public mutating func insert(_ id: String, now: ContinuousClock.Instant = .now) {
        guard window > .zero else { return }
        expire(now: now)
        let key = Self.key(id)
        guard seenAt[key] == nil else { return }
        seenAt[key] = now
        order.append((key, now))
        while seenAt.count > capacity { dropOldest() }
    }

    private mutating func expire(now: ContinuousClock.Instant) {
        while head < order.count, now - order[head].1 >= window { dropOldest() }
    }

    private mutating func dropOldest() {
        let (key, time) = order[head]
        if seenAt[key] == time { seenAt[key] = nil }
        head += 1
        // Compact once the consumed prefix dominates, so memory follows the live ids.
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// 32 hex digits become their 128 bits; anything else two FNV-1a hashes with different seeds.
    static func key(_ id: String) -> Key {
        let utf8 = id.utf8
        if utf8.count == 32 {
            var high: UInt64 = 0, low: UInt64 = 0, valid = true
            for (index, byte) in utf8.enumerated() {
                guard let digit = Hex.value(byte) else {
                    valid = false
                    break
                }
                if index < 16 { high = high << 4 | UInt64(digit) } else { low = low << 4 | UInt64(digit) }
            }
            if valid { return Key(high: high, low: low) }
        }
        var first: UInt64 = 0xcbf2_9ce4_8422_2325, second: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in utf8 {
            first = (first ^ UInt64(byte)) &* 0x100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37_79b9
        }
        return Key(high: first, low: second)
    }
}
