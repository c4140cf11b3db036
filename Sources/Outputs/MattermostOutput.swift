/// Mattermost, through an incoming webhook: Slack's payload, which Mattermost documents as its
/// own (its message attachments have no `ts`). Settings: `ChatWebhookSettings`.
///
/// ```yaml
/// - name: mattermost
///   type: mattermost
///   webhook_url: https://mattermost.example.com/hooks/xxx-generatedkey-xxx
///   channel: security
/// ```
public typealias MattermostOutput = ChatWebhookOutput<Mattermost>

public enum Mattermost: ChatWebhookService {
    public static let type = "mattermost"
    public static let hasFooter = true

    public static func message(for alert: OutputAlert, settings: ChatWebhookSettings) throws -> [UInt8] {
        try JSONBody.encode(Slack.Message(alert, settings: settings, dialect: .mattermost))
    }
}
