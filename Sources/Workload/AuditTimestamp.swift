import AuditModel
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Audit events' timestamps as the apiserver writes them: RFC 3339, UTC, microseconds
/// (`2026-11-26T10:00:00.000000Z`, always 27 characters, so they can be rewritten in place).
public enum AuditTimestamp {
    public static let length = 27

    /// - Parameter nanos: nanoseconds since the Unix epoch.
    public static func microseconds(_ nanos: Int64) -> String {
        // Timestamp.rfc3339 writes nanoseconds: `….123456789Z` becomes `….123456Z`.
        let full = Timestamp.rfc3339(nanos)
        return String(full.dropLast(4)) + "Z"
    }

    /// The current time in that form.
    public static func now() -> String { microseconds(WallClock.nanoseconds()) }
}

/// Wall-clock time, for timestamps that other processes compare.
public enum WallClock {
    public static func nanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
