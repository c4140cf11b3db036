/// How Falco's simple outputs (stdout, file, program) write an alert: its `output` line, as
/// Falco prints it, or its JSON; one alert per line either way.
public enum AlertLineFormat: String, Decodable, Sendable {
    case text, json

    /// The alerts as lines, ready to write.
    public func lines(_ alerts: [OutputAlert]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(alerts.reduce(0) { $0 + $1.json.count + 1 })
        for alert in alerts {
            switch self {
            case .text: bytes += alert.alert.output.utf8
            case .json: bytes += alert.json
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
