import AuditModel
import Foundation
import Kafka
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// The Elasticsearch output against a receiver that checks bulk requests as Elasticsearch's bulk
/// API documents them (NDJSON action and document pairs) and answers as Elasticsearch does,
/// partial failures included. No Elasticsearch server can run here.
@Suite struct ElasticsearchOutputTests {
    static let filterPath = "errors,items.*.status,items.*.error"

    /// What Elasticsearch puts in a refused item's `error`, by status.
    static func itemError(_ status: Int) -> String {
        switch status {
        case 400: #"{"type":"mapper_parsing_exception","reason":"failed to parse field [output_fields.ka.req.pod.containers.image] of type [keyword] in document. Preview of field's value: '{repository=nginx}'"}"#
        case 409: #"{"type":"version_conflict_engine_exception","reason":"version conflict, document already exists (current version [1])"}"#
        case 429: #"{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, max_coordinating_and_primary_bytes=107374182]"}"#
        default: #"{"type":"unavailable_shards_exception","reason":"[falco-2026.11.26][0] primary shard is not active Timeout: [1m]"}"#
        }
    }

    /// A bulk answer as Elasticsearch gives it with `filter_path=errors,items.*.status,items.*.error`:
    /// one item per action, in order, with `error` on those refused.
    static func bulkAnswer(_ statuses: [Int], action: String = "index") -> ScriptedReply {
        let items = statuses.map { status in
            #"{"\#(action)":{"status":\#(status)"# + (status < 300 ? "" : #","error":\#(itemError(status))"#) + "}}"
        }
        let errors = statuses.contains { $0 >= 300 }
        return ScriptedReply(status: 200, headers: [("Content-Type", "application/json")],
                             body: #"{"errors":\#(errors),"items":[\#(items.joined(separator: ","))]}"#)
    }

    /// `POST /_bulk` with `Content-Type: application/x-ndjson`: lines ending in newlines, in pairs
    /// of an action (`index`, or `create` for data streams, with `_index` and `_id`) and the
    /// alert document whose `id` is the `_id`, in the index `index` gives for its day (`2026.11.26`).
    static func validator(index expectedIndex: @escaping @Sendable (String) -> String = { "falco-\($0)" }, dataStream: Bool = false,
                          authorization: String? = nil, pipeline: String? = nil) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", "/_bulk")
            check.header("Content-Type", equals: "application/x-ndjson")
            if let authorization { check.header("Authorization", equals: authorization) }
            var query = ["filter_path": filterPath]
            if let pipeline { query["pipeline"] = pipeline }
            if request.queryItems != query { check.fail("query \(request.queryItems), expected \(query)") }
            guard request.body.last == UInt8(ascii: "\n") else {
                check.fail("the body does not end with a newline")
                return check.verdict
            }
            let lines = request.body.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            guard lines.count.isMultiple(of: 2) else {
                check.fail("\(lines.count) lines: not pairs of action and document")
                return check.verdict
            }
            for pair in stride(from: 0, to: lines.count, by: 2) {
                let at = "line \(pair + 1)"
                guard let action = try? JSONValue(parsing: Array(lines[pair])), let document = try? JSONValue(parsing: Array(lines[pair + 1])) else {
                    check.fail("\(at): an action or document line is not JSON")
                    continue
                }
                let verb = dataStream ? "create" : "index"
                guard let target = check.object(action, at: at, required: [verb])?[verb],
                      let meta = check.object(target, at: "\(at).\(verb)", required: ["_index", "_id"]),
                      let index = meta["_index"]?.string, let id = meta["_id"]?.string else { continue }
                guard let fields = check.object(document, at: "line \(pair + 2)",
                                                required: ["time", "rule", "priority", "output", "output_fields", "source", "tags",
                                                           "hostname", "cluster", "auditID", "id", "origin"],
                                                optional: dataStream ? ["@timestamp"] : []) else { continue }
                if fields["id"]?.string != id { check.fail("\(at): _id \(id) is not the alert id \(fields["id"] ?? .null)") }
                let day = (fields["time"]?.string ?? "").prefix(10).replacingOccurrences(of: "-", with: ".")
                let expected = expectedIndex(day)
                if index != expected { check.fail("\(at): _index \(index), expected \(expected)") }
                if dataStream, fields["@timestamp"] != fields["time"] { check.fail("line \(pair + 2): @timestamp is not the alert time") }
            }
            return check.verdict
        }
    }

    /// The action lines (as JSON) and documents (as bytes) of a bulk request.
    static func pairs(_ request: ReceivedRequest) throws -> [(action: JSONValue, document: [UInt8])] {
        let lines = request.body.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        return try stride(from: 0, to: lines.count, by: 2).map { (try JSONValue(parsing: Array(lines[$0])), Array(lines[$0 + 1])) }
    }

    @Test func documentsGoToTheIndexOfTheirDayWithTheAlertIDAsDocumentID() async throws {
        // 23:59:59.998Z: the third and fourth alert fire after midnight (UTC).
        let beforeMidnight = Date(timeIntervalSince1970: 1_795_737_599.998)
        let alerts = ObservabilityHarness.recentAlerts(4, at: beforeMidnight)
        let receiver = try await HTTPTestReceiver(validator: Self.validator(), reply: Self.bulkAnswer([201, 201, 201, 201]))
        let harness = try PolicyHarness()
        #expect(try await ObservabilityHarness.deliver(alerts, through: "type: elasticsearch\nurl: \(receiver.baseURL)\ncustom_fields: {env: prod}",
                                                       harness: harness) == 4)
        #expect(receiver.rejections.map(\.reason) == [])
        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        let pairs = try Self.pairs(request)
        #expect(pairs.map { $0.action["index"]?["_index"]?.string } == ["falco-2026.11.26", "falco-2026.11.26", "falco-2026.11.27", "falco-2026.11.27"])
        #expect(pairs.map { $0.action["index"]?["_id"]?.string } == alerts.map(\.id))
        let enriched = try ObservabilityHarness.handedOver(alerts, customFields: ["env": "prod"])
        #expect(pairs.map(\.document) == enriched.map(\.json), "each document is the alert's JSON with the custom fields")
        #expect(try JSONValue(parsing: pairs[0].document)["output_fields"]?["env"]?.string == "prod")
    }

    @Test func eachItemOfTheAnswerDecidesWhetherTheBatchIsRetried() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator())
        let output = try ObservabilityHarness.output("type: elasticsearch\nurl: \(receiver.baseURL)")
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(3))
        receiver.script(Self.bulkAnswer([201, 429, 201]), Self.bulkAnswer([201, 400, 200]), Self.bulkAnswer([400, 503, 201]),
                        Self.bulkAnswer([201, 200, 201]), ScriptedReply(status: 200, body: "<html>proxy error</html>"),
                        ScriptedReply(status: 200, body: #"{"errors":true,"items":[]}"#))
        var failures: [DeliveryFailure?] = []
        for _ in 0..<6 { failures.append(await OutputTestSupport.failure { try await output.deliver(alerts) }) }
        await output.shutdown()
        #expect(failures.map { $0?.kind } == [.transient(retryAfter: nil), .permanent, .transient(retryAfter: nil), nil,
                                              .transient(retryAfter: nil), .transient(retryAfter: nil)])
        let refused = try #require(failures[1]).reason
        #expect(refused.contains("1 of 3 documents refused"))
        #expect(refused.contains("\(alerts[1].alert.id): 400 mapper_parsing_exception: failed to parse field"), "\(refused)")
        #expect(try #require(failures[0]).reason.contains("es_rejected_execution_exception"))
        #expect(try #require(failures[4]).reason.contains("unreadable answer"))
        #expect(receiver.rejections.map(\.reason) == [])
    }

    @Test func aMappingErrorDeadLettersOnlyTheAlertElasticsearchRefused() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator())
        // The batch (one item refused), then the policy's one-by-one retry of its alerts.
        receiver.script(Self.bulkAnswer([201, 400, 201]), Self.bulkAnswer([200]), Self.bulkAnswer([400]), Self.bulkAnswer([200]))
        let harness = try PolicyHarness()
        let alerts = ObservabilityHarness.recentAlerts(3)
        #expect(try await ObservabilityHarness.deliver(alerts, through: "type: elasticsearch\nurl: \(receiver.baseURL)", harness: harness) == 3)
        #expect(harness.counter("delivered", output: "test") == 2)
        #expect(harness.counter("dead_lettered", output: "test") == 1)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.value == Array(AlertEncoder.json(alerts[1]).utf8))
        #expect(letter.header("output") == "test")
        #expect(letter.header("error")?.contains("mapper_parsing_exception") == true)
        #expect(try receiver.requests.map { try Self.pairs($0).count } == [3, 1, 1, 1])
    }

    @Test func aDataStreamGetsCreateActionsWithATimestampAndAnExistingDocumentCountsAsDelivered() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator(index: { _ in "logs-falco-default" }, dataStream: true),
                                                  reply: Self.bulkAnswer([201, 409], action: "create"))
        let output = try ObservabilityHarness.output("type: elasticsearch\nurl: \(receiver.baseURL)\nindex: logs-falco-default\ndata_stream: true")
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(2))
        let failure = await OutputTestSupport.failure { try await output.deliver(alerts) }
        await output.shutdown()
        #expect(failure == nil, "409 on create: an earlier attempt indexed it")
        #expect(receiver.rejections.map(\.reason) == [])
        let document = try #require(try receiver.requests.first.map(Self.pairs)?.first?.document)
        #expect(String(decoding: document, as: UTF8.self).hasPrefix(#"{"@timestamp":"\#(Timestamp.rfc3339(alerts[0].alert.time))","auditID":"#))
    }

    @Test func flatFieldNamesAnAPIKeyAndAnIngestPipeline() async throws {
        let receiver = try await HTTPTestReceiver(validator: Self.validator(index: { "audit-\($0.prefix(7))" }, authorization: "ApiKey VnVhQ2ZHY0JDZGJr",
                                                                 pipeline: "k8s-audit"),
                                                  reply: Self.bulkAnswer([201]))
        let output = try ObservabilityHarness.output("""
            type: elasticsearch
            url: \(receiver.baseURL)
            flatten_fields: true
            api_key: VnVhQ2ZHY0JDZGJr
            pipeline: k8s-audit
            suffix: monthly
            index: audit
            """)
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(1, at: Date(timeIntervalSince1970: 1_795_737_599)))
        let failure = await OutputTestSupport.failure { try await output.deliver(alerts) }
        await output.shutdown()
        #expect(failure == nil)
        #expect(receiver.rejections.map(\.reason) == [])
        let pair = try #require(try receiver.requests.first.map(Self.pairs)?.first)
        #expect(pair.action["index"]?["_index"]?.string == "audit-2026.11")
        let fields = try JSONValue(parsing: pair.document)["output_fields"]?.object ?? [:]
        #expect(Set(fields.keys) == ["evt_time", "ka_user_name", "ka_target_namespace", "ka_target_name", "ka_cluster_name"])
    }

    @Test func settingsAreCheckedWhereTheyAreWritten() {
        let base = "name: es\ntype: elasticsearch\nurl: https://es:9200\n"
        #expect(ObservabilityHarness.configurationError(base + "index: Falco\n")?.contains("outputs.yaml:4:") == true)
        #expect(ObservabilityHarness.configurationError(base + "index: a/b\n")?.contains("cannot contain '/'") == true)
        #expect(ObservabilityHarness.configurationError(base + "index: _x\n")?.contains("cannot start with '_'") == true)
        #expect(ObservabilityHarness.configurationError(base + "data_stream: true\nsuffix: daily\n")?.contains("outputs.yaml:5:") == true)
        #expect(ObservabilityHarness.configurationError(base + "suffix: weekly\n")?.contains("outputs.yaml:4:") == true)
        #expect(ObservabilityHarness.configurationError(base + "username: u\npassword: p\napi_key: k\n")?.contains("not both") == true)
        #expect(ObservabilityHarness.configurationError(base + "data_stream: true\n") == nil)
    }
}
