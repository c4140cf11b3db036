import Logging
import NIOCore
import Rules

/// falcosidekick's NATS output: each alert's JSON published to a subject built from the alert
/// (by default `falco.<priority>.<rule>`, e.g. `falco.critical.terminal_shell_in_container`),
/// over the NATS client protocol on one kept-open connection.
///
/// ```yaml
/// - name: nats
///   type: nats
///   url: nats://nats-1:4222,nats://nats-2:4222   # tried in order; tls://host:port insists on TLS
///   subject_template: falco.<priority>.<rule>     # also <cluster>, <source>, <hostname>, <id>
///   user: auditpipe                               # or token: …, or neither
///   password: secret
///   tls: {ca_file: /etc/ssl/nats-ca.pem}          # used when tls:// or the server requires TLS
/// ```
///
/// A batch is confirmed by a PING after its PUBs: the server's PONG means it processed them.
/// Core NATS keeps nothing: a subject with no subscriber drops the message, as with falcosidekick.
public struct NATSOutput: AlertOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "nats"
        var servers: [NATSServerAddress]
        /// Placeholder values become subject tokens: lower case, runs of other characters than
        /// a-z and 0-9 one `_` (falcosidekick's rule slug).
        var subjectTemplate: AlertTemplate
        var auth: NATSAuth

        enum CodingKeys: String, CodingKey {
            case url, subjectTemplate, user, password, token
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let urls = try container.decodeStringList(forKey: .url) ?? ["nats://127.0.0.1:4222"]
            servers = try urls.map { url in
                guard let server = NATSServerAddress(parsing: url) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .url, in: container,
                        debugDescription: "'\(url)' is not a NATS server address (nats://host:4222, tls://host:4222 or host:port; credentials go in user/password or token)")
                }
                return server
            }
            guard !servers.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .url, in: container, debugDescription: "no NATS server address")
            }
            subjectTemplate = try container.decodeTemplate(forKey: .subjectTemplate, default: "falco.<priority>.<rule>")
            // Every placeholder renders as a slug, so literal text alone decides whether subjects are valid.
            guard NATSSubject.isValidForPublishing(subjectTemplate.render { _ in "x" }) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .subjectTemplate, in: container,
                    debugDescription: "'\(subjectTemplate)' does not make valid subjects: dot-separated non-empty tokens without spaces, '*' or '>'")
            }
            let user = try container.decodeIfPresent(String.self, forKey: .user)
            let password = try container.decodeIfPresent(String.self, forKey: .password)
            let token = try container.decodeIfPresent(String.self, forKey: .token)
            switch (user, password, token) {
            case (nil, nil, nil): auth = .none
            case (let user?, let password?, nil): auth = .userPassword(user: user, password: password)
            case (nil, nil, let token?): auth = .token(token)
            case (_, _, _?):
                throw DecodingError.dataCorruptedError(forKey: .token, in: container, debugDescription: "use either token or user and password, not both")
            case (nil, _?, nil):
                throw DecodingError.dataCorruptedError(forKey: .password, in: container, debugDescription: "a password needs a user")
            case (_?, nil, nil):
                throw DecodingError.dataCorruptedError(forKey: .user, in: container, debugDescription: "a user needs a password")
            }
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            let options = try NATSConnectionOptions(name: "auditpipe-\(common.name)", auth: auth, tls: common.tls, output: common.name,
                                                    timeout: common.timeout.duration, eventLoopGroup: context.eventLoopGroup)
            return NATSOutput(name: common.name, subjectTemplate: subjectTemplate,
                              publisher: NATSPublisher(servers: servers, options: options, logger: context.logger))
        }
    }

    public let name: String
    /// PUBs per round trip at most (`batch.max_size` chooses fewer).
    public var maxBatchSize: Int { 1000 }
    let subjectTemplate: AlertTemplate
    let publisher: NATSPublisher

    /// The subject an alert is published to.
    func subject(for alert: Alert) -> String {
        subjectTemplate.render(alert, transform: NATSSubject.slug)
    }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        try await publisher.publish(alerts.map { (subject(for: $0.alert), $0.json) })
    }

    public func shutdown() async {
        await publisher.close()
    }
}

/// Keeps one connection to the NATS servers, opening a new one when it was lost.
actor NATSPublisher {
    private let servers: [NATSServerAddress]
    private let options: NATSConnectionOptions
    private let logger: Logger
    private var connection: NATSConnection?
    private var connecting: Task<NATSConnection, any Error>?
    private var isShutDown = false

    init(servers: [NATSServerAddress], options: NATSConnectionOptions, logger: Logger) {
        self.servers = servers
        self.options = options
        self.logger = logger
    }

    func publish(_ messages: [(subject: String, payload: [UInt8])]) async throws {
        guard !isShutDown else { throw DeliveryFailure.transient("the NATS output is shut down") }
        let connection = try await openConnection()
        let limit = connection.serverInfo.maxPayload
        if let oversized = messages.first(where: { $0.payload.count > limit }) {
            throw DeliveryFailure.permanent("an alert of \(oversized.payload.count) bytes exceeds the max_payload of NATS server \(connection.server) (\(limit) bytes)")
        }
        do {
            try await connection.publish(messages, timeout: options.timeout)
        } catch let error as NATSServerError {
            throw error.deliveryFailure
        } catch {
            throw DeliveryFailure.connection(error, server: "NATS server \(connection.server)")
        }
    }

    /// The connection deliveries use now (tests check that it is kept).
    var currentConnection: NATSConnection? { connection }

    func close() {
        isShutDown = true
        connecting?.cancel()
        connection?.close()
        connection = nil
    }

    private func openConnection() async throws -> NATSConnection {
        if let connection, !connection.isClosed { return connection }
        if let connecting { return try await connecting.value }
        let task = Task { [servers, options] in try await Self.connect(to: servers, options: options) }
        connecting = task
        defer { connecting = nil }
        let opened = try await task.value
        if isShutDown {
            opened.close()
            throw DeliveryFailure.transient("the NATS output is shut down")
        }
        logger.info("connected to NATS server", metadata: [
            "server": "\(opened.server)", "version": "\(opened.serverInfo.version)", "output": "\(options.name)",
        ])
        connection = opened
        return opened
    }

    private static func connect(to servers: [NATSServerAddress], options: NATSConnectionOptions) async throws -> NATSConnection {
        do {
            return try await NATSConnection.connect(to: servers, options: options)
        } catch let error as NATSServerError {
            throw error.deliveryFailure
        } catch {
            throw DeliveryFailure.connection(error, server: "NATS server \(servers.map(\.description).joined(separator: ", "))")
        }
    }
}
