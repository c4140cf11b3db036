/// Slack, through an incoming webhook: one message per alert with an attachment in the
/// priority's colour holding the alert's title, output line and fields, as falcosidekick posts
/// them (attachments, unlike blocks, carry the colour). Settings: `ChatWebhookSettings`.
///
/// ```yaml
/// - name: slack-security
///   type: slack
///   webhook_url: https://hooks.slack.com/services/T000/B000/XXXX
///   minimum_priority: warning
///   output_format: all
/// ```
public typealias SlackOutput = ChatWebhookOutput<Slack>

public enum Slack: ChatWebhookService {
    public static let type = "slack"
    public static let hasFooter = true

    /// Slack's incoming-webhook payload (Mattermost documents the same one).
    struct Message: Encodable {
        var channel: String?
        var username: String?
        var iconURL: String?
        var attachments: [ChatAttachment]

        enum CodingKeys: String, CodingKey {
            case channel, username, iconURL = "icon_url", attachments
        }

        init(_ alert: OutputAlert, settings: ChatWebhookSettings, dialect: ChatAttachment.Dialect) {
            channel = settings.channel
            username = settings.username
            iconURL = settings.iconURL
            attachments = [ChatAttachment(alert, layout: settings.outputFormat, footer: settings.footer, dialect: dialect)]
        }
    }

    public static func message(for alert: OutputAlert, settings: ChatWebhookSettings) throws -> [UInt8] {
        try JSONBody.encode(Message(alert, settings: settings, dialect: .slack))
    }
}
