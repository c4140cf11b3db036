/// An alert as a Slack-style message attachment — a bar in the priority's colour with the
/// alert's title, output line and fields — in the attachment format Slack documents and
/// Mattermost and Rocket.Chat accept. Each speaks a slightly different dialect of it.
struct ChatAttachment: Encodable, Equatable {
    enum Dialect {
        /// Slack: `fallback` (notification text), `footer`, `ts` (epoch seconds, shown with the footer).
        case slack
        /// Mattermost: as Slack, without `ts`.
        case mattermost
        /// Rocket.Chat: `title`, `text`, `color`, `fields` only.
        case rocketChat
    }

    struct Field: Encodable, Equatable {
        let title: String
        let value: String
        /// Shown side by side with the next short field; falcosidekick's rule: under 36 characters.
        let short: Bool
    }

    var fallback: String?
    var color: String
    var title: String
    var text: String?
    var fields: [Field]?
    var footer: String?
    var ts: Int64?

    init(_ alert: OutputAlert, layout: MessageLayout, footer: String?, dialect: Dialect) {
        let alert = alert.alert
        color = AlertPresentation.color(alert.priority)
        title = AlertPresentation.title(alert)
        text = layout.showsText ? alert.output : nil
        if layout.showsFields {
            fields = AlertPresentation.fields(alert).map { Field(title: $0.name, value: $0.value, short: $0.value.count < 36) }
        }
        switch dialect {
        case .slack:
            fallback = alert.output
            self.footer = footer
            ts = alert.time / 1_000_000_000
        case .mattermost:
            fallback = alert.output
            self.footer = footer
        case .rocketChat:
            break
        }
    }
}
