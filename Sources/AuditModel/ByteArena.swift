/// Scratch memory for the strings an event's fields compute (numbers as text,
/// objects as JSON, joined lists). Chunks never move, so views into them stay
/// valid until `reset`, which happens once per event and frees nothing: after
/// the first few events the arena stops allocating.
public final class ByteArena {
    private var chunks: [UnsafeMutableBufferPointer<UInt8>] = []
    private var current = 0
    private var used = 0
    private let chunkSize: Int

    public init(chunkSize: Int = 64 * 1024) {
        self.chunkSize = chunkSize
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    public func reset() {
        current = 0
        used = 0
    }

    /// Room for `count` bytes that stays valid until the next reset.
    public func allocate(_ count: Int) -> UnsafeMutableBufferPointer<UInt8> {
        if chunks.isEmpty || used + count > chunks[current].count {
            advance(toFit: count)
        }
        let chunk = chunks[current]
        let slice = UnsafeMutableBufferPointer(rebasing: chunk[used..<(used + count)])
        used += count
        return slice
    }

    private func advance(toFit count: Int) {
        // Reuse the next chunk when it is big enough; otherwise insert one that is.
        if !chunks.isEmpty { current += 1 }
        used = 0
        while current < chunks.count {
            if chunks[current].count >= count { return }
            current += 1
        }
        chunks.append(.allocate(capacity: Swift.max(chunkSize, count)))
        current = chunks.count - 1
    }

    public func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> ByteView {
        guard bytes.count > 0 else { return ByteView(base: nil, count: 0) }
        let target = allocate(bytes.count)
        _ = target.initialize(from: bytes)
        return ByteView(base: UnsafePointer(target.baseAddress), count: bytes.count)
    }

    public func copy(_ string: String) -> ByteView {
        var string = string
        return string.withUTF8 { copy($0) }
    }

    public func copy(_ view: ByteView) -> ByteView { copy(view.buffer) }

    /// Decimal text of an integer.
    public func decimal(_ value: Int64) -> ByteView {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { raw in
            var position = raw.count
            var magnitude = value.magnitude
            repeat {
                position -= 1
                raw[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                position -= 1
                raw[position] = UInt8(ascii: "-")
            }
            let bytes = UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[position...])
            return copy(bytes)
        }
    }

    public func decimal(_ value: UInt64) -> ByteView {
        if value <= UInt64(Int64.max) { return decimal(Int64(value)) }
        return copy(String(value))
    }
}
