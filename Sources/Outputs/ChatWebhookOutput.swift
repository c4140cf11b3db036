/// A chat service reached through Slack-style incoming webhooks (Slack, Mattermost, Rocket.Chat):
/// the same settings and one message per alert; each service says how its payload looks.
public protocol ChatWebhookService: Sendable {
    /// The output's `type:` name.
    static var type: String { get }
    /// Whether the service's attachments have a footer (else `footer:` is refused, not ignored).
    static var hasFooter: Bool { get }
    /// The webhook's JSON body for one alert.
    static func message(for alert: OutputAlert, settings: ChatWebhookSettings) throws -> [UInt8]
}

/// The settings of a Slack-style webhook output, as falcosidekick names them (snake_case):
///
/// ```yaml
///   webhook_url: https://hooks.slack.com/services/T000/B000/XXXX   # required
///   output_format: all        # all (default): output line and fields; text: the line; fields: the fields
///   channel: "#security"      # channel, username and icon override the webhook's own where the service allows
///   username: auditpipe
///   icon_url: https://example.com/falco.png
///   footer: prod fleet        # under the fields (Slack, Mattermost)
/// ```
public struct ChatWebhookSettings: Sendable {
    public var webhookURL: EndpointURL
    public var outputFormat = MessageLayout.all
    public var channel: String?
    public var username: String?
    public var iconURL: String?
    public var footer: String?

    enum CodingKeys: String, CodingKey {
        case webhookURL = "webhookUrl", outputFormat, channel, username, iconURL = "iconUrl", footer
    }

    init(from decoder: any Decoder, service: any ChatWebhookService.Type) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        webhookURL = try container.decode(EndpointURL.self, forKey: .webhookURL)
        outputFormat = try container.decodeIfPresent(MessageLayout.self, forKey: .outputFormat) ?? outputFormat
        channel = try container.decodeIfPresent(String.self, forKey: .channel)
        username = try container.decodeIfPresent(String.self, forKey: .username)
        iconURL = try container.decodeIfPresent(String.self, forKey: .iconURL)
        footer = try container.decodeIfPresent(String.self, forKey: .footer)
        if footer != nil, !service.hasFooter {
            throw DecodingError.dataCorruptedError(forKey: .footer, in: container,
                                                   debugDescription: "\(service.type) attachments have no footer")
        }
    }
}

/// One message per alert to a Slack-style incoming webhook.
public struct ChatWebhookOutput<Service: ChatWebhookService>: PerAlertHTTPOutput {
    public struct Configuration: OutputConfiguration {
        public static var type: String { Service.type }
        public var settings: ChatWebhookSettings

        public init(from decoder: any Decoder) throws {
            settings = try ChatWebhookSettings(from: decoder, service: Service.self)
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            ChatWebhookOutput(name: common.name, transport: try HTTPTransport(common, context: context), settings: settings)
        }
    }

    public let name: String
    public let transport: HTTPTransport
    public let settings: ChatWebhookSettings

    public func request(for alert: OutputAlert) throws -> HTTPTransport.Request {
        .json(settings.webhookURL, body: try Service.message(for: alert, settings: settings))
    }
}
