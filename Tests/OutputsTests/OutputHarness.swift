import Foundation
import Outputs
import Settings
import TestSupport

/// One HTTP output under test: how it is configured against a local receiver and what its
/// service accepts.
struct ServiceUnderTest: Sendable, CustomStringConvertible {
    let type: String
    /// The output's own YAML keys, given the receiver's base URL (`http://127.0.0.1:port`).
    let settings: @Sendable (String) -> String
    let validator: HTTPTestReceiver.Validator

    var description: String { type }

    static let datadogKey = "0123456789abcdef0123456789abcdef"
    static let opsgenieKey = "eb243592-faa2-4ba2-a551q-1afdf565c889"

    static let all: [ServiceUnderTest] = [
        ServiceUnderTest(type: "http", settings: { "url: \($0)/falco" },
                         validator: ServiceContracts.falcoAlert(path: "/falco")),
        ServiceUnderTest(type: "webhook", settings: { "url: \($0)/hook\nmethod: PUT" },
                         validator: ServiceContracts.falcoAlert(method: "PUT", path: "/hook")),
        ServiceUnderTest(type: "slack", settings: { "webhook_url: \($0)/services/T000/B000/XXXX" },
                         validator: ServiceContracts.slack(path: "/services/T000/B000/XXXX")),
        ServiceUnderTest(type: "rocketchat", settings: { "webhook_url: \($0)/hooks/abc/def" },
                         validator: ServiceContracts.rocketChat(path: "/hooks/abc/def")),
        ServiceUnderTest(type: "mattermost", settings: { "webhook_url: \($0)/hooks/xxx-generatedkey-xxx" },
                         validator: ServiceContracts.mattermost(path: "/hooks/xxx-generatedkey-xxx")),
        ServiceUnderTest(type: "teams", settings: { "webhook_url: \($0)/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t" },
                         validator: ServiceContracts.teams(path: "/workflows/abc/triggers/manual/paths/invoke")),
        ServiceUnderTest(type: "datadog", settings: { "api_key: \(datadogKey)\napi_url: \($0)" },
                         validator: ServiceContracts.datadog(apiKey: datadogKey)),
        ServiceUnderTest(type: "opsgenie", settings: { "api_key: \(opsgenieKey)\napi_url: \($0)" },
                         validator: ServiceContracts.opsgenie(apiKey: opsgenieKey)),
    ]
}

/// Outputs built as the sink builds them: from an entry of `sink.outputs` in YAML.
enum OutputHarness {
    /// One entry of an output list, decoded as `sink.outputs` entries are (the YAML keeps its
    /// line numbers: it becomes the list's only item).
    static func definition(_ yaml: String) throws -> OutputDefinition {
        let item = yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { ($0.offset == 0 ? "- " : "  ") + $0.element }.joined(separator: "\n")
        return try ConfigDecoder.decode([OutputDefinition].self, yaml: item, file: "outputs.yaml")[0]
    }

    /// The type's own settings of one entry.
    static func configuration<Configuration: OutputConfiguration>(_ yaml: String, as type: Configuration.Type) throws -> Configuration {
        let configuration = try definition(yaml).configuration
        guard let typed = configuration as? Configuration else {
            throw HarnessFailure(description: "\(Swift.type(of: configuration)) is not \(type)")
        }
        return typed
    }

    /// The YAML of one output entry: name, type, a short timeout, `extra` common keys, then its own keys.
    static func yaml(_ service: ServiceUnderTest, baseURL: String, extra: String = "") -> String {
        "name: \(service.type)-test\ntype: \(service.type)\ntimeout: 30s\n" + (extra.isEmpty ? "" : extra + "\n")
            + service.settings(baseURL)
    }

    /// The output for `service`, sending to `receiver`.
    static func output(_ service: ServiceUnderTest, receiver: HTTPTestReceiver, extra: String = "") throws -> any AlertOutput {
        try definition(yaml(service, baseURL: receiver.baseURL, extra: extra)).makeOutput(context: OutputTestSupport.context)
    }

    /// A receiver checking requests as `service` documents them, and an output sending to it.
    static func start(_ service: ServiceUnderTest, reply: ScriptedReply = .ok, extra: String = "") async throws
        -> (HTTPTestReceiver, any AlertOutput) {
        let receiver = try await HTTPTestReceiver(validator: service.validator, reply: reply)
        return (receiver, try output(service, receiver: receiver, extra: extra))
    }

    /// Delivers one alert and returns the one request it made (failing the test through #require otherwise).
    static func deliverOne(_ alert: OutputAlert, to output: any AlertOutput, at receiver: HTTPTestReceiver) async throws
        -> ReceivedRequest {
        try await output.deliver([alert])
        let requests = receiver.requests
        guard requests.count == 1 else { throw HarnessFailure(description: "expected one request, got \(requests.count)") }
        return requests[0]
    }

    struct HarnessFailure: Error, CustomStringConvertible {
        let description: String
    }
}
