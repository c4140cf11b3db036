import Foundation

/// A duration in a configuration file: `250ms`, `5s`, `2m`, `1h`, `7d`, or a bare number of seconds.
public struct ConfigDuration: Decodable, Sendable, Equatable, CustomStringConvertible {
    public let duration: Duration

    public init(_ duration: Duration) {
        self.duration = duration
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let duration = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a duration (examples: 250ms, 5s, 2m, 1h, 7d)")
        }
        self.duration = duration
    }

    /// Parses `250ms`, `1.5s`, `2m`, `1h`, `7d`, `30` (seconds); nil otherwise. Negative durations are refused.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60),
                                         ("h", 3600), ("d", 86400)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number >= 0, number.isFinite else { return nil }
            return .nanoseconds(Int64((number * seconds * 1e9).rounded()))
        }
        guard let number = Double(trimmed), number >= 0, number.isFinite else { return nil }
        return .nanoseconds(Int64((number * 1e9).rounded()))
    }

    public var description: String { "\(duration)" }
}

/// A size in bytes in a configuration file: `64MiB`, `1MB`, `512KiB`, `1GiB`, or a bare number of bytes.
public struct ByteSize: Decodable, Sendable, Equatable, Comparable, CustomStringConvertible {
    public let bytes: Int

    public init(_ bytes: Int) {
        self.bytes = bytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let bytes = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a size (examples: 65536, 512KiB, 64MiB, 1GB)")
        }
        self.bytes = bytes
    }

    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000),
                                      ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)),
                  number >= 0, number.isFinite else { return nil }
            return Int(number * Double(factor))
        }
        guard let number = Int(trimmed), number >= 0 else { return nil }
        return number
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    public var description: String { "\(bytes) bytes" }
}

/// `host:port` to listen on (`0.0.0.0:8765`, `127.0.0.1:0`, `[::1]:8765`).
public struct ListenAddress: Decodable, Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = Self(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not host:port (example: 0.0.0.0:8765)")
        }
        self = address
    }

    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
