import Foundation

/// What a service's HTTP answer means for the delivery: 2xx delivered; 429 and 5xx worth a
/// retry (when the service says when, in `Retry-After`, the retry waits that long); any other
/// status cannot succeed by retrying the same request, so the alert is dead-lettered.
public enum HTTPResponseClassification {
    /// How much of a response body a failure's reason quotes (services explain refusals there).
    public static let quotedBodyLength = 512

    /// nil when the status means delivered, the failure otherwise. `origin` names the service
    /// without the URL's path (which may hold a secret).
    public static func failure(status: Int, reasonPhrase: String, retryAfter: String?, body: [UInt8],
                               method: String, origin: String, now: Date = Date()) -> DeliveryFailure? {
        if (200..<300).contains(status) { return nil }
        var reason = "\(method) \(origin): HTTP \(status)"
        if !reasonPhrase.isEmpty { reason += " \(reasonPhrase)" }
        let quoted = quote(body)
        if !quoted.isEmpty { reason += ": \(quoted)" }
        switch status {
        case 429, 500..<600:
            return .transient(reason, retryAfter: retryAfter.flatMap { RetryAfter.parse($0, now: now) })
        case 300..<400:
            return .permanent(reason + " (redirects are not followed: configure the final URL)")
        default:
            return .permanent(reason)
        }
    }

    /// The start of a body as one line of text, for logs and dead-letter headers.
    static func quote(_ body: [UInt8]) -> String {
        let prefix = String(decoding: body.prefix(quotedBodyLength), as: UTF8.self)
        let oneLine = prefix.split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        return body.count > quotedBodyLength ? oneLine + "…" : oneLine
    }
}

/// The `Retry-After` header (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.
public enum RetryAfter {
    /// The wait it asks for; nil when the header is neither form. A date in the past means now.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        guard let date = httpDate(text) else { return nil }
        let wait = date.timeIntervalSince(now)
        return wait > 0 ? .milliseconds(Int64((wait * 1000).rounded(.up))) : .zero
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms senders may still use.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
