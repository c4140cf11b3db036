import Foundation
import AuditModel
import Rules

/// falcosidekick's SMTP output: one mail per alert, plain text and HTML, to one or more
/// recipients, over STARTTLS, implicit TLS or plain SMTP, with AUTH PLAIN or LOGIN.
///
/// ```yaml
/// - name: mail
///   type: smtp
///   minimum_priority: critical
///   host: smtp.example.com
///   port: 587                      # default: 587 starttls, 465 implicit, 25 none
///   tls_mode: starttls             # starttls (default), implicit or none
///   user: alerts@example.com       # AUTH only when set; refused without TLS unless allow_insecure_auth
///   password: secret
///   auth_mechanism: auto           # auto (PLAIN if offered, else LOGIN), plain, login
///   from: "auditpipe <alerts@example.com>"
///   to: [secops@example.com, oncall@example.com]   # or "a@x, b@y"
///   subject_template: "[<priority>] <output>"      # <priority> <rule> <cluster> <source> <hostname> <id> <output>
///   format: both                   # both (multipart/alternative), text or html
///   tls: {ca_file: /etc/ssl/private-ca.pem}
/// ```
///
/// The Message-ID is the alert's id, so a mail sent again after a retry is recognisably the
/// same mail (and some mail services keep only one of them).
public struct SMTPOutput: AlertOutput {
    public enum Format: String, Sendable, Decodable {
        case both, text, html
    }

    public struct Configuration: OutputConfiguration {
        public static let type = "smtp"
        var host: String
        var port: Int?
        var tlsMode: SMTPSecurity
        var credentials: SMTPCredentials?
        var authMechanism: SMTPAuthMechanism
        var allowInsecureAuth: Bool
        var from: MailAddress
        var to: [MailAddress]
        var subjectTemplate: AlertTemplate
        var format: Format
        var ehloName: String

        enum CodingKeys: String, CodingKey {
            case host, port, tlsMode, user, password, authMechanism, allowInsecureAuth, from, to, subjectTemplate, format, ehloName
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            host = try container.decode(String.self, forKey: .host)
            port = try container.decodeIfPresent(Int.self, forKey: .port)
            if let port, !(1...65535).contains(port) {
                throw DecodingError.dataCorruptedError(forKey: .port, in: container, debugDescription: "port \(port) is not between 1 and 65535")
            }
            tlsMode = try container.decodeIfPresent(SMTPSecurity.self, forKey: .tlsMode) ?? .starttls
            let user = try container.decodeIfPresent(String.self, forKey: .user)
            let password = try container.decodeIfPresent(String.self, forKey: .password)
            switch (user, password) {
            case (let user?, let password?): credentials = SMTPCredentials(user: user, password: password)
            case (nil, nil): credentials = nil
            case (nil, _?): throw DecodingError.dataCorruptedError(forKey: .password, in: container, debugDescription: "a password needs a user")
            case (_?, nil): throw DecodingError.dataCorruptedError(forKey: .user, in: container, debugDescription: "a user needs a password")
            }
            authMechanism = try container.decodeIfPresent(SMTPAuthMechanism.self, forKey: .authMechanism) ?? .auto
            allowInsecureAuth = try container.decodeIfPresent(Bool.self, forKey: .allowInsecureAuth) ?? false
            if credentials != nil, tlsMode == .none, !allowInsecureAuth {
                throw DecodingError.dataCorruptedError(
                    forKey: .user, in: container,
                    debugDescription: "AUTH over tls_mode: none sends the password in clear text; use starttls or implicit, or set allow_insecure_auth: true")
            }
            let fromText = try container.decode(String.self, forKey: .from)
            guard let from = MailAddress(parsing: fromText) else {
                throw DecodingError.dataCorruptedError(forKey: .from, in: container, debugDescription: "'\(fromText)' is not a mail address (alerts@example.com or Name <alerts@example.com>)")
            }
            self.from = from
            let recipients = try container.decodeStringList(forKey: .to) ?? []
            to = try recipients.map { text in
                guard let address = MailAddress(parsing: text) else {
                    throw DecodingError.dataCorruptedError(forKey: .to, in: container, debugDescription: "'\(text)' is not a mail address")
                }
                return address
            }
            guard !to.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .to, in: container, debugDescription: "at least one recipient is needed")
            }
            subjectTemplate = try container.decodeTemplate(forKey: .subjectTemplate, default: "[<priority>] <output>")
            format = try container.decodeIfPresent(Format.self, forKey: .format) ?? .both
            ehloName = try container.decodeIfPresent(String.self, forKey: .ehloName) ?? Self.defaultEHLOName
            guard !ehloName.isEmpty, !ehloName.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw DecodingError.dataCorruptedError(forKey: .ehloName, in: container, debugDescription: "'\(ehloName)' is not a host name")
            }
        }

        /// This host's name, which EHLO announces (servers may check it).
        static var defaultEHLOName: String {
            let name = ProcessInfo.processInfo.hostName
            return name.isEmpty || name.contains(where: \.isWhitespace) ? "localhost" : name
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            let client = SMTPClient(
                host: host, port: port ?? tlsMode.defaultPort, security: tlsMode,
                tls: tlsMode == .none ? nil : try TLSClient(settings: common.tls, serverName: host, output: common.name),
                ehloName: ehloName, credentials: credentials, mechanism: authMechanism,
                timeout: common.timeout.duration, eventLoopGroup: context.eventLoopGroup)
            return SMTPOutput(name: common.name, client: client, from: from, to: to, subjectTemplate: subjectTemplate, format: format)
        }
    }

    public let name: String
    let client: SMTPClient
    let from: MailAddress
    let to: [MailAddress]
    let subjectTemplate: AlertTemplate
    let format: Format
    /// One mail per delivery: a batch that failed halfway would mail its first alerts twice.
    public var maxBatchSize: Int { 1 }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        for alert in alerts {
            let message = mail(for: alert, date: Date())
            try await client.send(from: from.address, to: to.map(\.address), message: message.rendered())
        }
    }

    public func shutdown() async {}

    func mail(for alert: OutputAlert, date: Date) -> MailMessage {
        let content = AlertMailContent(alert.alert)
        return MailMessage(
            from: from, to: to, subject: subjectTemplate.render(alert.alert), date: date,
            messageID: "\(alert.alert.id.isEmpty ? UUID().uuidString : alert.alert.id)@\(from.domain)",
            extraHeaders: [("X-Auditpipe-Rule", alert.alert.rule), ("X-Auditpipe-Priority", alert.alert.priority.name),
                           ("X-Auditpipe-Cluster", alert.alert.cluster)],
            text: format == .html ? nil : content.text, html: format == .text ? nil : content.html)
    }
}

/// An alert told in a mail: its output line, then its attributes and fields, as plain text
/// and as an HTML table.
struct AlertMailContent {
    let rows: [(String, String)]
    let fields: [(String, String)]
    let output: String
    let priority: Priority

    init(_ alert: Alert) {
        output = alert.output
        priority = alert.priority
        rows = [("Rule", alert.rule), ("Priority", alert.priority.name), ("Time", Timestamp.rfc3339(alert.time)),
                ("Cluster", alert.cluster), ("Source", alert.source), ("Hostname", alert.hostname),
                ("Tags", alert.tags.joined(separator: ", ")), ("Alert id", alert.id)]
        fields = alert.outputFields.sorted { $0.0 < $1.0 }.map { ($0.0, Self.text(of: $0.1)) }
    }

    /// A field's value as Falco prints it in outputs.
    static func text(of value: OutputFieldValue) -> String {
        switch value {
        case .null: return "<NA>"
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .list(let items): return "(" + items.joined(separator: ",") + ")"
        }
    }

    var text: String {
        let width = (rows + fields).map(\.0.count).max() ?? 0
        func line(_ row: (String, String)) -> String {
            row.0 + ":" + String(repeating: " ", count: width - row.0.count + 1) + row.1
        }
        return ([output, ""] + rows.map(line) + ["", "Fields:"] + fields.map(line)).joined(separator: "\n") + "\n"
    }

    var html: String {
        func escape(_ text: String) -> String {
            var escaped = ""
            for character in text {
                switch character {
                case "&": escaped += "&amp;"
                case "<": escaped += "&lt;"
                case ">": escaped += "&gt;"
                case "\"": escaped += "&quot;"
                case "'": escaped += "&#39;"
                default: escaped.append(character)
                }
            }
            return escaped
        }
        func row(_ row: (String, String)) -> String {
            "<tr><th style=\"text-align:left;padding:2px 8px\">\(escape(row.0))</th><td style=\"padding:2px 8px;font-family:monospace\">\(escape(row.1))</td></tr>"
        }
        let color: String
        switch priority {
        case .emergency, .alert, .critical: color = "#b00020"
        case .error: color = "#e65100"
        case .warning: color = "#f9a825"
        case .notice, .informational, .debug: color = "#1565c0"
        }
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(output))</title></head>
            <body style="font-family:sans-serif">
            <p style="border-left:6px solid \(color);padding:4px 8px;font-family:monospace">\(escape(output))</p>
            <table>
            \(rows.map(row).joined(separator: "\n"))
            </table>
            <h4>Fields</h4>
            <table>
            \(fields.map(row).joined(separator: "\n"))
            </table>
            </body></html>
            """
    }
}
