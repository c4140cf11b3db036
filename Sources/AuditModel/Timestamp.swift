/// RFC 3339 timestamps as nanoseconds since the epoch, parsed and printed
/// without Foundation's formatters (which are far too slow for every event).
public enum Timestamp {
    /// Parses `2026-11-26T10:00:00.123456789Z` or with a `+hh:mm` offset. Nil if malformed.
    public static func parse(_ text: ByteView) -> Int64? {
        guard text.count >= 20 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for index in start..<(start + count) {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = digits(0, 4), text[4] == UInt8(ascii: "-"), let month = digits(5, 2),
              text[7] == UInt8(ascii: "-"), let day = digits(8, 2),
              text[10] == UInt8(ascii: "T") || text[10] == UInt8(ascii: "t") || text[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), text[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
              text[16] == UInt8(ascii: ":"), let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000_000
            let start = index
            while index < text.count, text[index] &- UInt8(ascii: "0") < 10 {
                nanos += Int64(text[index] &- UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        guard index < text.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch text[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 <= text.count, let hours = digits(index + 1, 2), text[index + 3] == UInt8(ascii: ":"),
                  let minutes = digits(index + 4, 2) else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (text[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == text.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000_000 + nanos
    }

    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse(ByteView(base: $0.baseAddress, count: $0.count)) }
    }

    /// `2026-11-26T10:00:00.123456789Z`: RFC 3339 in UTC with nanoseconds, as Falco's `time`.
    public static func rfc3339(_ nanoseconds: Int64) -> String {
        let (date, time, nanos) = split(nanoseconds)
        return "\(date)T\(time).\(pad(nanos, 9))Z"
    }

    /// `10:00:00.123456789`: Falco's evt.time (UTC here; Falco uses the host's zone).
    public static func timeOfDay(_ nanoseconds: Int64) -> String {
        let (_, time, nanos) = split(nanoseconds)
        return "\(time).\(pad(nanos, 9))"
    }

    private static func split(_ nanoseconds: Int64) -> (date: String, time: String, nanos: Int64) {
        var seconds = nanoseconds / 1_000_000_000
        var nanos = nanoseconds % 1_000_000_000
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        var days = seconds / 86400
        var secondOfDay = seconds % 86400
        if secondOfDay < 0 {
            secondOfDay += 86400
            days -= 1
        }
        let (year, month, day) = civilFromDays(days)
        let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        let time = "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2))"
        return (date, time, nanos)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
