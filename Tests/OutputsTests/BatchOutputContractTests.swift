import Foundation
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// One batch output under test against a strict receiver: its YAML and what its service
/// answers when a write went in.
struct BatchService: Sendable, CustomStringConvertible {
    let type: String
    /// The output's own keys, given the receiver's base URL.
    let settings: @Sendable (String) -> String
    /// The service's answer to a write of `count` alerts that all went in.
    let accepted: @Sendable (Int) -> ScriptedReply
    let validator: HTTPTestReceiver.Validator

    var description: String { type }

    static let all: [BatchService] = [
        BatchService(type: "alertmanager", settings: { "url: \($0)" }, accepted: { _ in ScriptedReply(status: 200) },
                     validator: AlertmanagerOutputTests.validator()),
        BatchService(type: "elasticsearch", settings: { "url: \($0)" },
                     accepted: { ElasticsearchOutputTests.bulkAnswer(Array(repeating: 201, count: $0)) },
                     validator: ElasticsearchOutputTests.validator()),
        BatchService(type: "loki", settings: { "url: \($0)" }, accepted: { _ in ScriptedReply(status: 204) },
                     validator: LokiOutputTests.validator()),
        BatchService(type: "influxdb", settings: { "url: \($0)\ndatabase: falco" }, accepted: { _ in ScriptedReply(status: 204) },
                     validator: InfluxDBOutputTests.validator(path: "/write", query: ["db": "falco", "precision": "ns"])),
        BatchService(type: "influxdb", settings: { "url: \($0)\norg: sec\nbucket: falco\ntoken: t0k3n" },
                     accepted: { _ in ScriptedReply(status: 204) },
                     validator: InfluxDBOutputTests.validator(path: "/api/v2/write", query: ["org": "sec", "bucket": "falco", "precision": "ns"],
                                                              authorization: "Token t0k3n")),
    ]

    /// A receiver answering writes of `count` alerts, and an output sending to it.
    func start(batchOf count: Int, timeout: String = "30s") async throws -> (HTTPTestReceiver, any AlertOutput) {
        let receiver = try await HTTPTestReceiver(validator: validator, reply: accepted(count))
        // The custom fields the sink adds before delivery, which some outputs make labels or tags.
        let yaml = "type: \(type)\ncustom_fields: {environment: production-eu}\nheaders: {X-Proxy-Token: p1}\n" + settings(receiver.baseURL)
        return (receiver, try ObservabilityHarness.output(yaml, timeout: timeout))
    }
}

/// What each batch output does alike: several alerts in one request that its service accepts,
/// custom fields carried, answers classified for the delivery policy, settings read strictly.
@Suite struct BatchOutputContractTests {
    @Test(arguments: BatchService.all)
    func sendsABatchInOneRequestWithTheCustomFields(service: BatchService) async throws {
        let (receiver, output) = try await service.start(batchOf: 5)
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(5),
                                                         customFields: ["environment": "production-eu"])
        let failure = await OutputTestSupport.failure { try await output.deliver(alerts) }
        await output.shutdown()
        #expect(failure == nil)
        #expect(receiver.rejections.map(\.reason) == [])
        let requests = receiver.requests
        #expect(requests.count == 1, "one request for the whole batch")
        #expect(requests.first?.header("X-Proxy-Token") == "p1", "the headers setting")
        let body = requests.first?.bodyText ?? ""
        #expect(body.contains("production-eu"), "the custom field is in the payload: \(body.prefix(300))")
        for alert in alerts { #expect(body.contains(alert.alert.rule)) }
        #expect(output.maxBatchSize >= 100)
    }

    @Test(arguments: BatchService.all)
    func classifiesTheServiceAnswersForRetries(service: BatchService) async throws {
        let (receiver, output) = try await service.start(batchOf: 1)
        receiver.script(ScriptedReply(status: 429, headers: [("Retry-After", "3")], body: "too many requests"),
                        ScriptedReply(status: 500, body: "internal error"),
                        ScriptedReply(status: 503),
                        ScriptedReply(status: 400, body: "bad request"),
                        ScriptedReply(status: 401, body: "unauthorized"))
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(1))
        var kinds: [DeliveryFailure.Kind?] = []
        for _ in 0..<6 { kinds.append(await OutputTestSupport.failure { try await output.deliver(alerts) }?.kind) }
        await output.shutdown()
        #expect(kinds == [.transient(retryAfter: .seconds(3)), .transient(retryAfter: nil), .transient(retryAfter: nil),
                          .permanent, .permanent, nil])
        #expect(receiver.rejections.map(\.reason) == [])
    }

    @Test(arguments: BatchService.all)
    func aServiceThatIsDownIsATransientFailure(service: BatchService) async throws {
        // A short timeout: the client retries refused connections until it runs out.
        let (receiver, output) = try await service.start(batchOf: 1, timeout: "2s")
        await receiver.stop()
        let failure = await OutputTestSupport.failure {
            try await output.deliver(try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(1)))
        }
        await output.shutdown()
        #expect(failure?.kind == .transient(retryAfter: nil))
    }

    @Test(arguments: BatchService.all)
    func readsItsSettingsWithTheCommonOnesAndRefusesUnknownKeys(service: BatchService) throws {
        let yaml = "name: out\ntype: \(service.type)\nminimum_priority: error\ncustom_fields: {env: prod}\n"
            + service.settings("https://example.com:8443")
        let definition = try OutputHarness.definition(yaml)
        #expect(definition.common.minimumPriority == .error)
        #expect(definition.common.customFields == ["env": "prod"])
        #expect(type(of: definition.configuration).type == service.type)

        let typo = yaml + "\nurll: https://typo.example.com"
        let line = typo.split(separator: "\n", omittingEmptySubsequences: false).count
        let error = ObservabilityHarness.configurationError(typo) ?? ""
        #expect(error.contains("outputs.yaml:\(line):") && error.contains("unknown key 'urll'"), "\(error)")
        #expect(ObservabilityHarness.configurationError("name: out\ntype: \(service.type)\nurl: ftp://example.com\n")?
            .contains("outputs.yaml:3:") == true)
    }

    @Test func aServerThatIsNotInstalledSaysHowToInstallIt() async {
        await #expect { try await HTTPServerProcess.start("auditpipe-no-such-server", readinessPath: "/") { _, _ in [] } } throws: { error in
            "\(error)".contains("'auditpipe-no-such-server' is not installed: run `make deps`")
        }
    }

    @Test func credentialsAreBothHalvesOrOneToken() throws {
        let base = "name: out\ntype: loki\nurl: http://loki:3100\n"
        #expect(ObservabilityHarness.configurationError(base + "username: u\n")?.contains("needs both username and password") == true)
        #expect(ObservabilityHarness.configurationError(base + "username: u\npassword: p\nbearer_token: t\n")?
            .contains("outputs.yaml:6:") == true)
        #expect(ObservabilityHarness.configurationError(base + "username: a:b\npassword: p\n")?.contains("cannot contain ':'") == true)
        let basic = try OutputHarness.definition(base + "username: u\npassword: p:w\n").configuration as? LokiOutput.Configuration
        #expect(basic?.authorization?.header.1 == "Basic " + Data("u:p:w".utf8).base64EncodedString())
    }
}
