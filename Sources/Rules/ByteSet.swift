import AuditModel

/// A set of byte strings for `in` and `intersects`: open addressing over an
/// FNV-1a hash, so membership costs one hash and usually one memcmp.
final class ByteSet: @unchecked Sendable {
    private let members: [ByteConstant]
    private let table: [Int32]
    private let mask: Int

    init(_ values: [String]) {
        var unique: [ByteConstant] = []
        var seen = Set<String>()
        for value in values where seen.insert(value).inserted { unique.append(ByteConstant(value)) }
        members = unique
        var capacity = 8
        while capacity < unique.count * 2 { capacity *= 2 }
        mask = capacity - 1
        var table = [Int32](repeating: -1, count: capacity)
        for (index, member) in unique.enumerated() {
            var slot = Int(truncatingIfNeeded: Self.hash(member.view)) & (capacity - 1)
            while table[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            table[slot] = Int32(index)
        }
        self.table = table
    }

    var count: Int { members.count }
    var strings: [String] { members.map(\.string) }

    @inline(__always)
    static func hash(_ bytes: ByteView) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in 0..<bytes.count {
            hash = (hash ^ UInt64(bytes[index])) &* 0x100_0000_01b3
        }
        return hash
    }

    @inline(__always)
    func contains(_ value: ByteView) -> Bool { index(of: value) != nil }

    /// The member's position in insertion order (after removing duplicates).
    @inline(__always)
    func index(of value: ByteView) -> Int? {
        var slot = Int(truncatingIfNeeded: Self.hash(value)) & mask
        while true {
            let index = table[slot]
            if index < 0 { return nil }
            if members[Int(index)].view.equals(value) { return Int(index) }
            slot = (slot + 1) & mask
        }
    }
}
