import Rules

/// Microsoft Teams: one Adaptive Card per alert, posted to a Teams workflow ("When a Teams
/// webhook request is received", which replaced the retired Office 365 connectors and takes
/// Adaptive Cards only) or to a legacy incoming webhook. The card is a message with one
/// `application/vnd.microsoft.card.adaptive` attachment, schema version 1.4 (the newest Teams
/// renders in workflows): a header in the priority's style, the output line, and the fields
/// as a FactSet. Adaptive Cards have no free colours, so priorities map to the card styles
/// attention / warning / accent / default.
///
/// ```yaml
/// - name: teams
///   type: teams
///   webhook_url: https://prod-00.westeurope.logic.azure.com:443/workflows/…/triggers/manual/paths/invoke?…   # required
///   output_format: all     # all (default), text, or facts (falcosidekick's word; fields works too)
/// ```
public struct TeamsOutput: PerAlertHTTPOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "teams"
        public var webhookURL: EndpointURL
        public var outputFormat = MessageLayout.all

        enum CodingKeys: String, CodingKey {
            case webhookURL = "webhookUrl", outputFormat
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            webhookURL = try container.decode(EndpointURL.self, forKey: .webhookURL)
            outputFormat = try container.decodeIfPresent(MessageLayout.self, forKey: .outputFormat) ?? outputFormat
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            TeamsOutput(name: common.name, transport: try HTTPTransport(common, context: context), configuration: self)
        }
    }

    public let name: String
    public let transport: HTTPTransport
    let configuration: Configuration

    public func request(for alert: OutputAlert) throws -> HTTPTransport.Request {
        .json(configuration.webhookURL, body: try JSONBody.encode(Message(card: Self.card(alert.alert, layout: configuration.outputFormat))))
    }

    static func card(_ alert: Alert, layout: MessageLayout) -> Card {
        var body: [Card.Element] = [
            .container(style: style(alert.priority), items: [
                .textBlock(AlertPresentation.title(alert), weight: "Bolder", size: "Medium"),
            ]),
        ]
        if layout.showsText { body.append(.textBlock(alert.output, weight: nil, size: nil)) }
        if layout.showsFields { body.append(.factSet(AlertPresentation.fields(alert))) }
        return Card(body: body)
    }

    static func style(_ priority: Priority) -> String {
        switch AlertPresentation.severity(priority) {
        case .critical: "attention"
        case .warning: "warning"
        case .notice: "accent"
        case .info: "default"
        }
    }

    /// The webhook's body: a message activity carrying the card.
    struct Message: Encodable {
        struct Attachment: Encodable {
            let contentType = "application/vnd.microsoft.card.adaptive"
            let content: Card
        }

        let type = "message"
        let attachments: [Attachment]

        init(card: Card) {
            attachments = [Attachment(content: card)]
        }
    }

    /// An Adaptive Card (adaptivecards.io schema 1.4), the elements alerts need.
    struct Card: Encodable {
        enum Element: Encodable {
            case textBlock(String, weight: String?, size: String?)
            case container(style: String, items: [Element])
            case factSet([AlertPresentation.Field])

            enum Key: String, CodingKey {
                case type, text, weight, size, wrap, style, bleed, items, facts, title, value
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                switch self {
                case .textBlock(let text, let weight, let size):
                    try container.encode("TextBlock", forKey: .type)
                    try container.encode(text, forKey: .text)
                    try container.encode(true, forKey: .wrap)
                    try container.encodeIfPresent(weight, forKey: .weight)
                    try container.encodeIfPresent(size, forKey: .size)
                case .container(let style, let items):
                    try container.encode("Container", forKey: .type)
                    try container.encode(style, forKey: .style)
                    try container.encode(true, forKey: .bleed)
                    try container.encode(items, forKey: .items)
                case .factSet(let fields):
                    try container.encode("FactSet", forKey: .type)
                    var facts = container.nestedUnkeyedContainer(forKey: .facts)
                    for field in fields {
                        var fact = facts.nestedContainer(keyedBy: Key.self)
                        try fact.encode(field.name, forKey: .title)
                        try fact.encode(field.value, forKey: .value)
                    }
                }
            }
        }

        let schema = "http://adaptivecards.io/schemas/adaptive-card.json"
        let type = "AdaptiveCard"
        let version = "1.4"
        let body: [Element]
        /// Full width: alerts have long output lines and many fields.
        let msteams = ["width": "Full"]

        enum CodingKeys: String, CodingKey {
            case schema = "$schema", type, version, body, msteams
        }
    }
}
