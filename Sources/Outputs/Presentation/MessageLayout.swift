/// What a chat message shows (falcosidekick's `outputformat`): the alert's output line and
/// its fields (`all`, the default), only the line (`text`), or only the fields (`fields`;
/// `facts`, Teams' word for them, is accepted too).
public enum MessageLayout: String, Decodable, Sendable {
    case all, text, fields

    public var showsText: Bool { self != .fields }
    public var showsFields: Bool { self != .text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        switch text.lowercased() {
        case "all": self = .all
        case "text": self = .text
        case "fields", "facts": self = .fields
        default:
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown output_format '\(text)' (all, text, fields)")
        }
    }
}
