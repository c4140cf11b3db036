import CZlib

/// Inflates `Content-Encoding: gzip` bodies with the system's zlib. Several gzip members one after another
/// (what `cat a.gz b.gz` makes, and what RFC 1952 allows) are one body. Output stops at a limit, so a small
/// body cannot expand without bound (a "zip bomb").
enum GzipDecoder {
    enum Failure: Error, Equatable {
        /// The decoded body would be larger than the limit.
        case tooLarge(limit: Int)
        /// Not gzip, or damaged or cut short; the text says which.
        case corrupt(String)
    }

    static func decode(_ input: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        guard !input.isEmpty else { throw .corrupt("an empty body is not gzip data") }
        var stream = z_stream()
        // 15 + 16: the largest window, gzip wrapper only (a raw deflate or zlib stream is not `gzip`).
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start (out of memory)")
        }
        defer { inflateEnd(&stream) }

        // Audit JSON compresses about 10:1; start there and double as needed, up to the limit (+1 to notice it).
        var output = [UInt8](repeating: 0, count: min(max(input.count * 8, 64 << 10), limit + 1))
        var produced = 0
        var consumed = 0
        while true {
            if produced == output.count {
                guard output.count <= limit else { throw .tooLarge(limit: limit) }
                output.append(contentsOf: repeatElement(0, count: min(output.count, limit + 1 - output.count)))
            }
            let remainingInput = input.count - consumed
            let status: Int32 = output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: consumed)
                    .assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(remainingInput)
                stream.next_out = out.baseAddress!.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count - produced)
                let status = inflate(&stream, Z_NO_FLUSH)
                consumed = input.count - Int(stream.avail_in)
                produced = out.count - Int(stream.avail_out)
                return status
            }
            if produced > limit { throw .tooLarge(limit: limit) }
            switch status {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: either the output is full (grown above) or the input ended early.
                if produced < output.count { throw .corrupt("the gzip data ends early (truncated body)") }
            case Z_STREAM_END:
                guard consumed < input.count else {
                    output.removeSubrange(produced...)
                    return output
                }
                // Another member follows; anything else after a complete member is not gzip.
                guard input[consumed] == 0x1F else { throw .corrupt("data after the end of the gzip stream") }
                guard inflateReset(&stream) == Z_OK else { throw .corrupt("zlib could not reset") }
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw .corrupt("not valid gzip data: \(reason)")
            }
        }
    }
}
