import Foundation
import TestSupport
import Testing

/// The receivers' contracts refuse what the services refuse: otherwise a passing output test
/// would prove nothing.
@Suite struct ServiceContractTests {
    static func verdict(_ validator: HTTPTestReceiver.Validator, _ body: String, path: String, method: String = "POST",
                        headers: [(String, String)] = []) -> String? {
        validator(ReceivedRequest(method: method, path: path, headers: [("Content-Type", "application/json")] + headers,
                                  body: Array(body.utf8)))
    }

    @Test func slackContract() {
        let slack = ServiceContracts.slack(path: "/services/T/B/X")
        func verdict(_ body: String) -> String? { Self.verdict(slack, body, path: "/services/T/B/X") }
        #expect(verdict(#"{"text":"hi"}"#) == nil)
        #expect(verdict(##"{"attachments":[{"color":"#ff9000","fields":[{"title":"a","value":"b","short":true}],"ts":1}]}"##) == nil)
        #expect(verdict("{}")?.contains("no_text") == true)
        #expect(verdict(#"{"text":"hi","colour":"red"}"#)?.contains("$.colour is not a field") == true)
        #expect(verdict(#"{"attachments":[{"color":"red"}]}"#)?.contains("neither #RRGGBB") == true)
        #expect(verdict(#"{"attachments":[{"ts":"yesterday"}]}"#)?.contains("epoch seconds") == true)
        #expect(verdict(#"{"attachments":[{"fields":[{"title":"a"}]}]}"#)?.contains("value is missing") == true)
        #expect(verdict("not json")?.contains("not JSON") == true)
        #expect(Self.verdict(slack, #"{"text":"hi"}"#, path: "/services/T/B/Y")?.contains("path") == true)
    }

    @Test func mattermostAndRocketChatContracts() {
        let mattermost = ServiceContracts.mattermost(path: "/hooks/k")
        #expect(Self.verdict(mattermost, #"{"attachments":[{"fallback":"x","footer":"f"}]}"#, path: "/hooks/k") == nil)
        #expect(Self.verdict(mattermost, #"{"attachments":[{"ts":1}]}"#, path: "/hooks/k")?.contains("ts is not a field") == true)
        let rocketChat = ServiceContracts.rocketChat(path: "/hooks/a/b")
        #expect(Self.verdict(rocketChat, #"{"alias":"x","avatar":"https://a/b.png","text":"t"}"#, path: "/hooks/a/b") == nil)
        #expect(Self.verdict(rocketChat, #"{"username":"x","text":"t"}"#, path: "/hooks/a/b")?.contains("username is not a field") == true)
        #expect(Self.verdict(rocketChat, #"{"attachments":[{"footer":"f"}]}"#, path: "/hooks/a/b")?.contains("footer is not a field") == true)
    }

    @Test func teamsContract() {
        let teams = ServiceContracts.teams(path: "/w")
        func card(_ content: String) -> String {
            #"{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":\#(content)}]}"#
        }
        #expect(Self.verdict(teams, card(#"{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"x"}]}"#), path: "/w") == nil)
        #expect(Self.verdict(teams, card(#"{"type":"AdaptiveCard","version":"2.0","body":[]}"#), path: "/w")?.contains("version") == true)
        #expect(Self.verdict(teams, card(#"{"type":"AdaptiveCard","version":"1.4","body":[{"type":"Image","url":"x"}]}"#), path: "/w")?
            .contains("not an element") == true)
        #expect(Self.verdict(teams, card(#"{"type":"AdaptiveCard","version":"1.4","body":[{"type":"Container","style":"red","items":[]}]}"#),
                             path: "/w")?.contains("style") == true)
        #expect(Self.verdict(teams, #"{"@type":"MessageCard","summary":"legacy connector card"}"#, path: "/w") != nil,
                "a workflow takes Adaptive Cards, not connector MessageCards")
    }

    @Test func datadogContract() {
        let datadog = ServiceContracts.datadog(apiKey: "k")
        func verdict(_ body: String, key: String = "k") -> String? {
            Self.verdict(datadog, body, path: "/api/v1/events", headers: [("DD-API-KEY", key)])
        }
        let now = Int(Date().timeIntervalSince1970)
        #expect(verdict(#"{"title":"t","text":"x","alert_type":"error","tags":["a:b"],"date_happened":\#(now)}"#) == nil)
        #expect(verdict(#"{"title":"t","text":"x"}"#, key: "wrong")?.contains("DD-API-KEY") == true)
        #expect(verdict(#"{"title":"t"}"#)?.contains("text is missing") == true)
        #expect(verdict(#"{"title":"t","text":"x","alert_type":"critical"}"#)?.contains("alert_type") == true)
        #expect(verdict(#"{"title":"t","text":"\#(String(repeating: "x", count: 4001))"}"#)?.contains("at most 4000") == true)
        #expect(verdict(#"{"title":"t","text":"x","date_happened":\#(now - 19 * 3600)}"#)?.contains("older than 18 hours") == true)
        #expect(verdict(#"{"title":"t","text":"x","date_happened":"today"}"#)?.contains("POSIX seconds") == true)
    }

    @Test func opsgenieContract() {
        let opsgenie = ServiceContracts.opsgenie(apiKey: "k")
        func verdict(_ body: String, auth: String = "GenieKey k") -> String? {
            Self.verdict(opsgenie, body, path: "/v2/alerts", headers: [("Authorization", auth)])
        }
        #expect(verdict(#"{"message":"m","priority":"P1","details":{"a":"b"},"tags":["t"]}"#) == nil)
        #expect(verdict(#"{"message":"m"}"#, auth: "Bearer k")?.contains("Authorization") == true)
        #expect(verdict(#"{"message":"\#(String(repeating: "m", count: 131))"}"#)?.contains("at most 130") == true)
        #expect(verdict(#"{"message":"m","priority":"P6"}"#)?.contains("priority") == true)
        #expect(verdict(#"{"message":"m","details":{"a":1}}"#)?.contains("expected a string") == true)
        let tags = (0..<21).map { "\"t\($0)\"" }.joined(separator: ",")
        #expect(verdict(#"{"message":"m","tags":[\#(tags)]}"#)?.contains("at most 20") == true)
    }

    @Test func falcoAlertContract() {
        let contract = ServiceContracts.falcoAlert(path: "/falco")
        #expect(Self.verdict(contract, #"{"rule":"r","priority":"Notice"}"#, path: "/falco")?.contains("$.id is missing") == true)
    }
}
