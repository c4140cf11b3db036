/// Rocket.Chat, through an incoming webhook integration: its chat.postMessage payload, where
/// the sender's name is `alias` and its picture `avatar`, with an attachment in the priority's
/// colour (Rocket.Chat's attachments have no footer). Settings: `ChatWebhookSettings`.
///
/// ```yaml
/// - name: rocketchat
///   type: rocketchat
///   webhook_url: https://chat.example.com/hooks/<integration id>/<token>
///   channel: "#security"
///   username: auditpipe        # sent as alias
///   icon_url: https://example.com/falco.png   # sent as avatar
/// ```
public typealias RocketChatOutput = ChatWebhookOutput<RocketChat>

public enum RocketChat: ChatWebhookService {
    public static let type = "rocketchat"
    public static let hasFooter = false

    struct Message: Encodable {
        var channel: String?
        var alias: String?
        var avatar: String?
        var attachments: [ChatAttachment]
    }

    public static func message(for alert: OutputAlert, settings: ChatWebhookSettings) throws -> [UInt8] {
        try JSONBody.encode(Message(
            channel: settings.channel, alias: settings.username, avatar: settings.iconURL,
            attachments: [ChatAttachment(alert, layout: settings.outputFormat, footer: nil, dialect: .rocketChat)]))
    }
}
