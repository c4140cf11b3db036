import Foundation
import NIOCore
import NIOEmbedded
@testable import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// The NATS output against a real nats-server, read back by a real subscriber.
@Suite struct NATSOutputTests {
    static func output(_ server: NATSServerProcess, _ extra: String = "", timeout: String = "30s") throws -> NATSOutput {
        try #require(try OutputFixtures.make("name: nats\ntype: nats\nurl: \(server.url)\ntimeout: \(timeout)\n" + extra) as? NATSOutput)
    }

    @Test func eachAlertsJSONGoesToItsPriorityAndRuleSubjectWithTheCustomFields() async throws {
        let server = try await NATSServerProcess.start()
        let (subscriber, messages) = try await server.subscribe("falco.>")
        defer { subscriber.close() }
        let output = try Self.output(server)
        defer { Task { await output.shutdown() } }
        let alerts = [
            OutputAlerts.alert(rule: "Terminal shell in container", priority: .critical, customFields: ["env": "prod"]),
            OutputAlerts.alert(rule: "K8s Secret Get  (by anonymous)", priority: .warning, customFields: ["env": "prod"]),
        ]
        try await output.deliver(alerts)

        let received = await first(2, of: messages)
        #expect(received.map(\.subject) == ["falco.critical.terminal_shell_in_container", "falco.warning.k8s_secret_get_by_anonymous"])
        #expect(received.map(\.payload) == alerts.map(\.json))
        let payload = try JSONSerialization.jsonObject(with: Data(try #require(received.first).payload)) as? [String: Any]
        #expect((payload?["output_fields"] as? [String: Any])?["env"] as? String == "prod")
    }

    @Test func aLargeBatchArrivesWholeAndInOrder() async throws {
        let server = try await NATSServerProcess.start()
        let (subscriber, messages) = try await server.subscribe("alerts.>")
        defer { subscriber.close() }
        let output = try Self.output(server, "subject_template: alerts.<cluster>.<priority>\n")
        defer { Task { await output.shutdown() } }
        let alerts = OutputAlerts.batch(2000)
        for start in stride(from: 0, to: alerts.count, by: 500) {
            try await output.deliver(Array(alerts[start..<start + 500]))
        }
        let received = await first(2000, of: messages)
        #expect(received.count == 2000)
        #expect(received.map(\.payload) == alerts.map(\.json))
        #expect(Set(received.map(\.subject)) == ["alerts.prod_eu.warning"])
    }

    @Test func userAndPasswordAuthenticateAndAWrongPasswordIsPermanent() async throws {
        let server = try await NATSServerProcess.start(configuration: "authorization {user: auditpipe, password: s3cret, timeout: \(NATSServerProcess.authTimeout)}\n")
        let (subscriber, messages) = try await server.subscribe(">", auth: .userPassword(user: "auditpipe", password: "s3cret"))
        defer { subscriber.close() }
        let output = try Self.output(server, "user: auditpipe\npassword: s3cret\n")
        defer { Task { await output.shutdown() } }
        try await output.deliver([OutputAlerts.alert()])
        #expect(await first(1, of: messages).count == 1)

        let wrong = try Self.output(server, "user: auditpipe\npassword: guess\n")
        defer { Task { await wrong.shutdown() } }
        let failure = try #require(await OutputTestSupport.failure { try await wrong.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("Authorization Violation"))
    }

    @Test func aTokenAuthenticates() async throws {
        let server = try await NATSServerProcess.start(configuration: "authorization {token: t0ken, timeout: \(NATSServerProcess.authTimeout)}\n")
        let (subscriber, messages) = try await server.subscribe(">", auth: .token("t0ken"))
        defer { subscriber.close() }
        let output = try Self.output(server, "token: t0ken\n")
        defer { Task { await output.shutdown() } }
        try await output.deliver([OutputAlerts.alert()])
        #expect(await first(1, of: messages).first?.payload == OutputAlerts.alert().json)

        let anonymous = try Self.output(server)
        defer { Task { await anonymous.shutdown() } }
        #expect(await OutputTestSupport.failure { try await anonymous.deliver([OutputAlerts.alert()]) }?.kind == .permanent)
    }

    /// The server refuses a PUB it does not permit with an -ERR and keeps the connection: that
    /// batch fails for good, the next one is delivered on the same connection.
    @Test func aSubjectThePermissionsDenyIsPermanentAndTheConnectionGoesOn() async throws {
        let server = try await NATSServerProcess.start(configuration: """
            authorization {
              timeout: \(NATSServerProcess.authTimeout)
              users = [
                {user: sink, password: pw, permissions: {publish: {allow: ["falco.critical.>"]}}}
                {user: reader, password: pw}
              ]
            }
            """)
        let (subscriber, messages) = try await server.subscribe("falco.>", auth: .userPassword(user: "reader", password: "pw"))
        defer { subscriber.close() }
        let output = try Self.output(server, "user: sink\npassword: pw\n")
        defer { Task { await output.shutdown() } }

        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert(priority: .notice)]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("Permissions Violation"))
        let connection = await output.publisher.currentConnection
        try await output.deliver([OutputAlerts.alert(priority: .critical)])
        #expect(await output.publisher.currentConnection === connection)
        #expect(await first(1, of: messages).map(\.subject) == ["falco.critical.pod_exec"])
    }

    @Test func aPayloadOverTheServersLimitIsPermanent() async throws {
        let server = try await NATSServerProcess.start(configuration: "max_payload: 300\n")
        let output = try Self.output(server)
        defer { Task { await output.shutdown() } }
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("max_payload"))
    }

    @Test func anUnreachableServerIsTransientAndDeliveryResumesWhenItIsBack() async throws {
        let server = try await NATSServerProcess.start()
        let output = try Self.output(server)
        defer { Task { await output.shutdown() } }
        try await output.deliver([OutputAlerts.alert()])

        await server.stop()
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("127.0.0.1:\(server.port)"))

        let restarted = try await NATSServerProcess.start(port: server.port)
        let (subscriber, messages) = try await restarted.subscribe(">")
        defer { subscriber.close() }
        try await output.deliver([OutputAlerts.alert(priority: .error)])
        #expect(await first(1, of: messages).map(\.subject) == ["falco.error.pod_exec"])
    }

    @Test func nothingListeningIsTransient() async throws {
        let port = try FreePort.allocate()
        let output = try #require(try OutputFixtures.make("{name: n, type: nats, url: 'nats://127.0.0.1:\(port)', timeout: 3s}") as? NATSOutput)
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("cannot connect"))
    }

    /// The server PINGs idle clients and drops those that do not answer; the event loop answers,
    /// so an output idle for longer than the server's patience keeps its connection (a client that
    /// never answered would be dropped after about 4 s here).
    @Test func anIdleConnectionAnswersTheServersPings() async throws {
        let server = try await NATSServerProcess.start(configuration: "ping_interval: \"1s\"\nping_max: 3\n")
        let output = try Self.output(server)
        defer { Task { await output.shutdown() } }
        try await output.deliver([OutputAlerts.alert()])
        let connection = try #require(await output.publisher.currentConnection)
        try await Task.sleep(for: .seconds(7))
        #expect(!connection.isClosed)
        try await output.deliver([OutputAlerts.alert()])
        #expect(await output.publisher.currentConnection === connection)
    }

    @Test func tlsWithAPrivateCAAndNotWithAnotherOne() async throws {
        let certificates = try TestCertificates()
        let server = try await NATSServerProcess.start(configuration: """
            tls {
              cert_file: "\(certificates.serverCertFile)"
              key_file: "\(certificates.serverKeyFile)"
              timeout: \(NATSServerProcess.authTimeout)
            }
            """)
        // The server requires TLS; nats:// connects and upgrades after INFO, as NATS clients do.
        let (subscriber, messages) = try await Self.tlsSubscriber(server, caFile: certificates.caFile)
        defer { subscriber.close() }
        let output = try Self.output(server, "tls: {ca_file: \(certificates.caFile)}\n")
        defer { Task { await output.shutdown() } }
        try await output.deliver([OutputAlerts.alert()])
        #expect(await first(1, of: messages).count == 1)

        let otherCA = try TestCertificates()
        let untrusted = try Self.output(server, "tls: {ca_file: \(otherCA.caFile)}\n")
        defer { Task { await untrusted.shutdown() } }
        let failure = try #require(await OutputTestSupport.failure { try await untrusted.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind.isTransient)
        #expect(failure.reason.contains("TLS"))
    }

    @Test func tlsURLRefusesAServerWithoutTLS() async throws {
        let server = try await NATSServerProcess.start()
        let output = try #require(try OutputFixtures.make("{name: n, type: nats, url: 'tls://127.0.0.1:\(server.port)', timeout: 60s}") as? NATSOutput)
        defer { Task { await output.shutdown() } }
        let failure = try #require(await OutputTestSupport.failure { try await output.deliver([OutputAlerts.alert()]) })
        #expect(failure.kind == .permanent)
        #expect(failure.reason.contains("does not offer"))
    }

    static func tlsSubscriber(_ server: NATSServerProcess, caFile: String) async throws -> (NATSConnection, AsyncStream<NATSMessage>) {
        var tls = TLSSettings()
        tls.caFile = caFile
        let options = try NATSConnectionOptions(name: "test-subscriber", auth: .none, tls: tls, output: "test-subscriber", timeout: .seconds(30),
                                            eventLoopGroup: OutputTestSupport.context.eventLoopGroup)
        let connection = try await NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: server.port), options: options)
        return (connection, try await connection.subscribe(to: ">", timeout: .seconds(30)))
    }
}

/// NATS settings and subjects, without a server.
@Suite struct NATSConfigurationTests {
    @Test func defaultsAndServerLists() throws {
        let plain = try #require(try OutputFixtures.definition("{name: n, type: nats}").configuration as? NATSOutput.Configuration)
        #expect(plain.servers == [NATSServerAddress(host: "127.0.0.1", port: 4222)])
        #expect(plain.subjectTemplate.description == "falco.<priority>.<rule>")
        #expect(plain.auth == .none)

        let listed = try #require(try OutputFixtures.definition("""
            name: n
            type: nats
            url: [nats://a.example:4223, "tls://[::1]:4224", b.example]
            user: u
            password: p
            """).configuration as? NATSOutput.Configuration)
        #expect(listed.servers == [NATSServerAddress(host: "a.example", port: 4223), NATSServerAddress(host: "::1", port: 4224, requiresTLS: true),
                                   NATSServerAddress(host: "b.example", port: 4222)])
        #expect(listed.auth == .userPassword(user: "u", password: "p"))

        let commaSeparated = try #require(try OutputFixtures.definition("{name: n, type: nats, url: 'nats://a:1, nats://b:2', token: t}")
            .configuration as? NATSOutput.Configuration)
        #expect(commaSeparated.servers.map(\.description) == ["a:1", "b:2"])
        #expect(commaSeparated.auth == .token("t"))
    }

    @Test func badSettingsAreErrorsAtTheirPlace() {
        #expect(OutputFixtures.errors("name: n\ntype: nats\nurl: http://x:4222\n")
            == ["outputs.yaml:3:6: url: 'http://x:4222' is not a NATS server address (nats://host:4222, tls://host:4222 or host:port; credentials go in user/password or token)"])
        #expect(OutputFixtures.errors("name: n\ntype: nats\nsubject_template: falco.<severity>\n")
            == ["outputs.yaml:3:19: subject_template: unknown placeholder <severity> (known: <priority>, <rule>, <cluster>, <source>, <hostname>, <id>, <output>)"])
        #expect(OutputFixtures.errors("name: n\ntype: nats\nsubject_template: falco.*.<rule>\n")
            == ["outputs.yaml:3:19: subject_template: 'falco.*.<rule>' does not make valid subjects: dot-separated non-empty tokens without spaces, '*' or '>'"])
        #expect(OutputFixtures.errors("name: n\ntype: nats\nuser: u\n")
            == ["outputs.yaml:3:7: user: a user needs a password"])
        #expect(OutputFixtures.errors("name: n\ntype: nats\ntoken: t\nuser: u\npassword: p\n")
            == ["outputs.yaml:3:8: token: use either token or user and password, not both"])
        #expect(OutputFixtures.errors("name: n\ntype: nats\nsubjcet_template: x\n")
            == ["outputs.yaml:3:1: unknown key 'subjcet_template' at the top level"])
    }

    @Test func subjectsAreFalcosidekicksSlugs() throws {
        let output = try #require(try OutputFixtures.make("{name: n, type: nats, subject_template: 'k8s.<cluster>.<priority>.<rule>'}") as? NATSOutput)
        #expect(output.subject(for: OutputAlerts.alert(rule: "Create Privileged Pod", priority: .informational).alert)
            == "k8s.prod_eu.informational.create_privileged_pod")
        #expect(NATSSubject.slug("  K8s: ServiceAccount Created (kube-system)!! ") == "k8s_serviceaccount_created_kube_system")
        #expect(NATSSubject.slug("***") == "unknown")
        #expect(NATSSubject.slug("Überwachung läuft") == "berwachung_l_uft")
    }

    /// Frames split anywhere across reads; a payload that reads like an operation stays a payload;
    /// PINGs are answered on the event loop and not passed on.
    @Test func theDecoderFramesAndAnswersPings() throws {
        let channel = EmbeddedChannel(handler: NATSFrameDecoder())
        try channel.writeInbound(ByteBuffer(string: "INFO {\"max_payload\":9}\r\nMSG a.b 7 6\r\nPI"))
        try channel.writeInbound(ByteBuffer(string: "NG\r\n\r\nPING\r\n+OK\r\nMSG c 7 r 0\r\n"))
        try channel.writeInbound(ByteBuffer(string: "\r\n"))
        var frames: [NATSFrame] = []
        while let frame = try channel.readInbound(as: NATSFrame.self) { frames.append(frame) }
        #expect(frames == [
            .operation(.info(#"{"max_payload":9}"#)),
            .message(subscription: 7, NATSMessage(subject: "a.b", replyTo: nil, payload: Array("PING\r\n".utf8))),
            .operation(.ok),
            .message(subscription: 7, NATSMessage(subject: "c", replyTo: "r", payload: [])),
        ])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "PONG\r\n"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(throws: StreamError.self) { try channel.writeInbound(ByteBuffer(string: "MSG a 1 2\r\nabcd\r\n")) }
    }

    @Test func serverOperationsParseAsTheProtocolSpells() throws {
        #expect(try NATSServerOperation(line: "MSG falco.critical.x 7 42") == .message(subject: "falco.critical.x", subscription: 7, replyTo: nil, size: 42))
        #expect(try NATSServerOperation(line: "msg a.b 1 _INBOX.x 0") == .message(subject: "a.b", subscription: 1, replyTo: "_INBOX.x", size: 0))
        #expect(try NATSServerOperation(line: "-ERR 'Authorization Violation'") == .error("Authorization Violation"))
        #expect(try NATSServerOperation(line: "ping") == .ping)
        #expect(throws: StreamError.self) { try NATSServerOperation(line: "HELLO") }
        #expect(throws: StreamError.self) { try NATSServerOperation(line: "MSG a.b x 3") }
        #expect(NATSServerError(messages: ["Stale Connection"]).deliveryFailure.kind.isTransient)
        #expect(NATSServerError(messages: ["Permissions Violation for Publish to \"x\""]).deliveryFailure.kind == .permanent)
    }
}
