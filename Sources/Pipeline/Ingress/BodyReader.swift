import Hummingbird
import NIOCore

/// Reads and decodes webhook bodies within the body limit and the in-flight limit: every byte is reserved
/// before it is kept, so a flood of large or slow bodies meets 429 instead of exhausting memory.
enum BodyReader {
    enum Outcome {
        case body(ByteBuffer)
        /// Past max_body_size (413).
        case tooLarge
        /// The in-flight limit has no room (429).
        case overloaded
        /// The body could not be read or decoded (400), and why.
        case failed(String)
    }

    /// Collects the whole body, growing `reservation` as chunks arrive.
    static func read(_ body: RequestBody, limit: Int, reservation: InFlightLimiter.Reservation) async -> Outcome {
        var collected: ByteBuffer?
        do {
            for try await chunk in body {
                let total = (collected?.readableBytes ?? 0) + chunk.readableBytes
                guard total <= limit else { return .tooLarge }
                guard reservation.grow(to: total) else { return .overloaded }
                if collected == nil {
                    collected = chunk
                } else {
                    collected!.writeImmutableBuffer(chunk)
                }
            }
        } catch {
            return .failed("\(error)")
        }
        return .body(collected ?? ByteBuffer())
    }

    /// Inflates a gzip body; the reservation covers both while decoding, then only the decoded body.
    static func gunzip(_ body: ByteBuffer, limit: Int, reservation: InFlightLimiter.Reservation) -> Outcome {
        let decoded: [UInt8]
        do {
            decoded = try body.withUnsafeReadableBytes { bytes in try GzipDecoder.decode(bytes, limit: limit) }
        } catch GzipDecoder.Failure.tooLarge {
            return .tooLarge
        } catch GzipDecoder.Failure.corrupt(let reason) {
            return .failed(reason)
        } catch {
            return .failed("\(error)")
        }
        guard reservation.grow(to: body.readableBytes + decoded.count) else { return .overloaded }
        reservation.shrink(to: decoded.count)
        return .body(ByteBuffer(bytes: decoded))
    }
}
