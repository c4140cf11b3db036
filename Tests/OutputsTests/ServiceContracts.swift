import Foundation
import TestSupport

/// Each service's request format as its documentation gives it, for `HTTPTestReceiver`
/// validators: a request these refuse is one the real service would refuse (or mangle).
enum ServiceContracts {
    // MARK: Slack-style chat webhooks

    /// Slack incoming webhooks (api.slack.com/messaging/webhooks, reference/messaging/attachments).
    static func slack(path: String) -> HTTPTestReceiver.Validator {
        chatWebhook(path: path, topLevel: ["text", "blocks", "attachments", "thread_ts", "mrkdwn", "username", "icon_url",
                                           "icon_emoji", "channel", "unfurl_links", "unfurl_media"],
                    attachment: ["fallback", "color", "pretext", "author_name", "author_link", "author_icon", "title",
                                 "title_link", "text", "fields", "image_url", "thumb_url", "footer", "footer_icon", "ts",
                                 "mrkdwn_in", "blocks"],
                    textKeys: ["text", "blocks", "attachments"])
    }

    /// Mattermost incoming webhooks (developers.mattermost.com/integrate/webhooks/incoming,
    /// reference/message-attachments): Slack's fields, attachments without `ts`.
    static func mattermost(path: String) -> HTTPTestReceiver.Validator {
        chatWebhook(path: path, topLevel: ["text", "channel", "username", "icon_url", "icon_emoji", "attachments", "type",
                                           "props", "priority"],
                    attachment: ["fallback", "color", "pretext", "text", "author_name", "author_link", "author_icon", "title",
                                 "title_link", "fields", "image_url", "thumb_url", "footer", "footer_icon", "actions"],
                    textKeys: ["text", "attachments"])
    }

    /// Rocket.Chat incoming webhook integrations, whose body is chat.postMessage's
    /// (developer.rocket.chat: alias, emoji, avatar, attachments).
    static func rocketChat(path: String) -> HTTPTestReceiver.Validator {
        chatWebhook(path: path, topLevel: ["text", "alias", "emoji", "avatar", "channel", "roomId", "attachments"],
                    attachment: ["audio_url", "author_icon", "author_link", "author_name", "collapsed", "color", "fields",
                                 "image_url", "message_link", "text", "thumb_url", "title", "title_link",
                                 "title_link_download", "ts", "video_url"],
                    textKeys: ["text", "attachments"])
    }

    private static func chatWebhook(path: String, topLevel: Set<String>, attachment attachmentKeys: Set<String>,
                                    textKeys: Set<String>) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", path)
            guard let body = check.jsonObject(required: [], optional: topLevel) else { return check.verdict }
            if textKeys.isDisjoint(with: body.keys) { check.fail("no_text: one of \(textKeys.sorted()) is required") }
            for key in ["text", "channel", "username", "icon_url", "alias", "avatar"] { check.string(body, key, at: "$") }
            check.array(body, "attachments", at: "$", maxCount: 100) { check, value, path in
                guard let attachment = check.object(value, at: path, required: [], optional: attachmentKeys) else { return }
                for key in ["fallback", "title", "text", "footer"] { check.string(attachment, key, at: path) }
                if let color = check.string(attachment, "color", at: path), !isSlackColor(color) {
                    check.fail("\(path).color '\(color)' is neither #RRGGBB nor good/warning/danger")
                }
                if let ts = attachment["ts"], ts.number == nil { check.fail("\(path).ts is \(ts.kind), expected epoch seconds") }
                check.array(attachment, "fields", at: path) { check, value, fieldPath in
                    guard let field = check.object(value, at: fieldPath, required: ["title", "value"], optional: ["short"]) else { return }
                    check.string(field, "title", at: fieldPath)
                    check.string(field, "value", at: fieldPath, nonEmpty: false)
                    check.bool(field, "short", at: fieldPath)
                }
            }
            return check.verdict
        }
    }

    private static func isSlackColor(_ text: String) -> Bool {
        if ["good", "warning", "danger"].contains(text) { return true }
        return text.count == 7 && text.first == "#" && text.dropFirst().allSatisfy(\.isHexDigit)
    }

    // MARK: Microsoft Teams

    /// A Teams workflow webhook ("When a Teams webhook request is received"): a message whose
    /// attachments are Adaptive Cards (adaptivecards.io schema, versions Teams renders: ≤ 1.5).
    static func teams(path: String) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", path)
            guard let message = check.jsonObject(required: ["type", "attachments"], optional: ["summary", "text"]) else {
                return check.verdict
            }
            check.string(message, "type", at: "$", allowed: ["message"])
            let attachments = check.array(message, "attachments", at: "$") { check, value, path in
                guard let attachment = check.object(value, at: path, required: ["contentType", "content"],
                                                    optional: ["contentUrl", "name"]) else { return }
                check.string(attachment, "contentType", at: path, allowed: ["application/vnd.microsoft.card.adaptive"])
                guard let card = check.object(attachment["content"], at: "\(path).content", required: ["type", "version", "body"],
                                              optional: ["$schema", "msteams", "actions", "fallbackText", "speak", "lang"]) else { return }
                check.string(card, "type", at: "\(path).content", allowed: ["AdaptiveCard"])
                check.string(card, "version", at: "\(path).content", allowed: ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"])
                check.array(card, "body", at: "\(path).content") { check, element, elementPath in
                    cardElement(&check, element, at: elementPath)
                }
            }
            if attachments?.isEmpty == true { check.fail("$.attachments is empty") }
            return check.verdict
        }
    }

    private static func cardElement(_ check: inout RequestCheck, _ value: JSONValue, at path: String) {
        switch value["type"]?.string {
        case "TextBlock":
            guard let block = check.object(value, at: path, required: ["type", "text"],
                                           optional: ["wrap", "weight", "size", "color", "isSubtle", "spacing", "separator", "maxLines"]) else { return }
            check.string(block, "text", at: path)
            check.bool(block, "wrap", at: path)
            check.string(block, "weight", at: path, allowed: ["Default", "Lighter", "Bolder"])
            check.string(block, "size", at: path, allowed: ["Default", "Small", "Medium", "Large", "ExtraLarge"])
        case "Container":
            guard let container = check.object(value, at: path, required: ["type", "items"],
                                               optional: ["style", "bleed", "spacing", "separator"]) else { return }
            check.string(container, "style", at: path, allowed: ["default", "emphasis", "good", "attention", "warning", "accent"])
            check.bool(container, "bleed", at: path)
            check.array(container, "items", at: path) { check, item, itemPath in cardElement(&check, item, at: itemPath) }
        case "FactSet":
            guard let set = check.object(value, at: path, required: ["type", "facts"], optional: ["spacing", "separator"]) else { return }
            check.array(set, "facts", at: path) { check, fact, factPath in
                guard let fact = check.object(fact, at: factPath, required: ["title", "value"]) else { return }
                check.string(fact, "title", at: factPath)
                check.string(fact, "value", at: factPath, nonEmpty: false)
            }
        default:
            check.fail("\(path).type \(value["type"]?.description ?? "missing") is not an element alerts use (TextBlock, Container, FactSet)")
        }
    }

    // MARK: Datadog

    /// Datadog Events API v1, POST /api/v1/events (docs.datadoghq.com/api/latest/events/#post-an-event).
    static func datadog(apiKey: String, now: @escaping @Sendable () -> Date = Date.init) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", "/api/v1/events")
            check.header("DD-API-KEY", equals: apiKey)
            guard let event = check.jsonObject(
                required: ["title", "text"],
                optional: ["aggregation_key", "alert_type", "date_happened", "device_name", "host", "priority",
                           "related_event_id", "source_type_name", "tags"]) else { return check.verdict }
            check.string(event, "title", at: "$")
            check.string(event, "text", at: "$", maxLength: 4000)
            check.string(event, "aggregation_key", at: "$", maxLength: 100)
            check.string(event, "alert_type", at: "$",
                         allowed: ["error", "warning", "info", "success", "user_update", "recommendation", "snapshot"])
            check.string(event, "priority", at: "$", allowed: ["normal", "low"])
            check.string(event, "host", at: "$")
            check.strings(event, "tags", at: "$", maxLength: 200)
            if let date = event["date_happened"] {
                if let seconds = date.number, seconds == seconds.rounded() {
                    if seconds < now().timeIntervalSince1970 - 18 * 3600 { check.fail("$.date_happened is older than 18 hours") }
                } else {
                    check.fail("$.date_happened is \(date), expected integer POSIX seconds")
                }
            }
            return check.verdict
        }
    }

    // MARK: Opsgenie

    /// Opsgenie Alert API, create alert: POST /v2/alerts with `Authorization: GenieKey <key>`
    /// (docs.opsgenie.com/docs/alert-api#create-alert, with its field limits).
    static func opsgenie(apiKey: String) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", "/v2/alerts")
            check.header("Authorization", equals: "GenieKey \(apiKey)")
            guard let alert = check.jsonObject(
                required: ["message"],
                optional: ["alias", "description", "responders", "visibleTo", "actions", "tags", "details", "entity",
                           "source", "priority", "user", "note"]) else { return check.verdict }
            check.string(alert, "message", at: "$", maxLength: 130)
            check.string(alert, "alias", at: "$", maxLength: 512)
            check.string(alert, "description", at: "$", maxLength: 15000)
            check.string(alert, "entity", at: "$", maxLength: 512)
            check.string(alert, "source", at: "$", maxLength: 100)
            check.string(alert, "priority", at: "$", allowed: ["P1", "P2", "P3", "P4", "P5"])
            check.strings(alert, "tags", at: "$", maxCount: 20, maxLength: 50)
            if let details = alert["details"] {
                if let members = details.object {
                    var size = 0
                    for (key, value) in members {
                        guard let text = value.string else { check.fail("$.details.\(key) is \(value.kind), expected a string"); continue }
                        size += key.count + text.count
                    }
                    if size > 8000 { check.fail("$.details holds \(size) characters, at most 8000 allowed") }
                } else {
                    check.fail("$.details is \(details.kind), expected an object of strings")
                }
            }
            return check.verdict
        }
    }

    // MARK: Falco's JSON alert (http and webhook outputs)

    /// A POST/PUT whose body is one alert in Falco's JSON output format plus auditpipe's keys
    /// (DESIGN.md's alert contract), as Falco's http_output and falcosidekick's webhook send it.
    static func falcoAlert(method: String = "POST", path: String) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route(method, path)
            guard let alert = check.jsonObject(required: ["time", "rule", "priority", "output", "output_fields", "source", "tags",
                                                          "hostname", "cluster", "auditID", "id", "origin"]) else { return check.verdict }
            check.string(alert, "priority", at: "$", allowed: ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                                                                "Informational", "Debug"])
            for key in ["time", "rule", "output", "source", "hostname", "id"] { check.string(alert, key, at: "$") }
            check.strings(alert, "tags", at: "$")
            _ = check.object(alert["output_fields"], at: "$.output_fields", required: [],
                             optional: Set(alert["output_fields"]?.object?.keys.map { $0 } ?? []))
            return check.verdict
        }
    }
}
