import AuditModel
import Foundation
import Outputs
import Rules
import Settings
import TestSupport
import Testing

/// The InfluxDB output against a real InfluxDB 1.x (Debian's `influxdb`), read back with
/// InfluxQL, and against a receiver that checks InfluxDB 2's write API (Debian has no 2.x).
@Suite struct InfluxDBOutputTests {
    /// A server with its data, metadata and WAL in a temporary directory, HTTP on a free port.
    static func startInfluxDB(authentication: Bool = false) async throws -> HTTPServerProcess {
        try await HTTPServerProcess.start("influxd", readinessPath: "/ping") { port, directory in
            let configuration = try directory.write("influxdb.conf", """
                bind-address = "127.0.0.1:\(try FreePort.allocate())"
                [meta]
                  dir = "\(directory.path)/meta"
                [data]
                  dir = "\(directory.path)/data"
                  wal-dir = "\(directory.path)/wal"
                  query-log-enabled = false
                [monitor]
                  store-enabled = false
                [subscriber]
                  enabled = false
                [http]
                  bind-address = "127.0.0.1:\(port)"
                  auth-enabled = \(authentication)
                  log-enabled = false
                """)
            return ["-config", configuration]
        }
    }

    /// Runs InfluxQL (`POST /query`); fails the test when InfluxDB reports an error.
    @discardableResult
    static func query(_ server: HTTPServerProcess, _ statement: String, database: String? = nil,
                      credentials: (String, String)? = nil) async throws -> JSONValue {
        var fields = [("q", statement)]
        if let database { fields.append(("db", database)) }
        let headers = credentials.map { [("Authorization", "Basic " + Data("\($0.0):\($0.1)".utf8).base64EncodedString())] } ?? []
        let response = try await TestHTTPClient.postForm(server.baseURL + "/query", fields, headers: headers)
        let json = try response.json()
        if response.status != 200 || json["results"]?[0]?["error"] != nil || json["error"] != nil {
            Issue.record("InfluxQL \(statement): HTTP \(response.status) \(response.text)")
        }
        return json
    }

    /// The rows of a SELECT, each as column → value.
    static func rows(_ result: JSONValue) -> [[String: JSONValue]] {
        guard let series = result["results"]?[0]?["series"]?[0], let columns = series["columns"]?.array?.compactMap(\.string) else { return [] }
        return (series["values"]?.array ?? []).map { Dictionary(uniqueKeysWithValues: zip(columns, $0.array ?? [])) }
    }

    /// `POST <path>` with line protocol (`text/plain`), the given query parameters and credentials, each
    /// line a point: a measurement, tags, fields and a timestamp in ns.
    static func validator(path: String, query: [String: String], authorization: String? = nil) -> HTTPTestReceiver.Validator {
        { request in
            var check = RequestCheck(request)
            check.route("POST", path)
            if request.queryItems != query { check.fail("query \(request.queryItems), expected \(query)") }
            if request.header("Content-Type")?.hasPrefix("text/plain") != true { check.fail("Content-Type is not text/plain") }
            if let authorization { check.header("Authorization", equals: authorization) }
            let lines = request.bodyText.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last != "" { check.fail("the last point does not end with a newline") }
            for (number, line) in lines.dropLast().enumerated() {
                let timestamp = line.split(separator: " ").last ?? ""
                if timestamp.count != 19 || !timestamp.allSatisfy({ $0.isASCII && $0.isNumber }) {
                    check.fail("line \(number + 1) does not end with a timestamp in ns: \(line.suffix(40))")
                }
                if !line.hasPrefix("falco,") { check.fail("line \(number + 1) is not a point of the falco measurement with tags") }
            }
            return check.verdict
        }
    }

    @Test func pointsReachARealInfluxDBWithTagsFieldsAndNanosecondTimes() async throws {
        let server = try await Self.startInfluxDB()
        try await Self.query(server, "CREATE DATABASE audit")
        let harness = try PolicyHarness()
        let alerts = ObservabilityHarness.recentAlerts(10)
        #expect(try await ObservabilityHarness.deliver(alerts, through: """
            type: influxdb
            url: \(server.baseURL)
            custom_fields: {env: prod}
            database: audit
            extra_tags: [ka.target.namespace]
            """, harness: harness) == alerts.count)
        #expect(harness.counter("delivered", output: "test") == Int64(alerts.count))

        let rows = Self.rows(try await Self.query(server, "SELECT * FROM falco", database: "audit"))
        #expect(rows.count == alerts.count)
        for alert in alerts {
            let row = try #require(rows.first { $0["id"]?.string == alert.id }, "alert \(alert.id) is a point")
            #expect(row["cluster"]?.string == alert.cluster)
            #expect(row["priority"]?.string == alert.priority.name)
            #expect(row["rule"]?.string == alert.rule)
            #expect(row["source"]?.string == "k8s_audit")
            #expect(row["env"]?.string == "prod", "the custom field is a tag")
            #expect(row["ka.target.namespace"]?.string == "web")
            #expect(row["output"]?.string == alert.output)
            #expect(row["value"]?.number == 1)
            #expect(row["hostname"]?.string == "engine-0")
            #expect(row["ka.user.name"]?.string == "alice")
            #expect(row["evt.time"]?.string == alert.outputField("evt.time").flatMap(AlertLabels.value), "a number field as a string field")
            let time = try #require(row["time"]?.string.flatMap(Timestamp.parse))
            #expect((0..<1000).contains(time - alert.time), "the alert's microsecond, digits below it from the id")
        }
        let tagKeys = try await Self.query(server, "SHOW TAG KEYS FROM falco", database: "audit")
        #expect(tagKeys["results"]?[0]?["series"]?[0]?["values"]?.array?.compactMap { $0[0]?.string }
            == ["cluster", "env", "ka.target.namespace", "priority", "rule", "source"])
        await server.stop()
    }

    @Test func awkwardTextAndAlertsOfTheSameMicrosecondSurviveTheRoundTrip() async throws {
        let server = try await Self.startInfluxDB()
        try await Self.query(server, "CREATE DATABASE audit")
        let output = try ObservabilityHarness.output("type: influxdb\nurl: \(server.baseURL)\ndatabase: audit\nmeasurement: k8s audit")
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(3).map {
            var alert = $0
            alert.rule = #"Weird, rule = "quoted" a\b"#
            alert.cluster = "prod eu"
            alert.time = 1_795_687_200_123_456_000
            alert.output = "line one\nsaid \"hi\", path C:\\temp = x"
            return alert
        })
        let failure = await OutputTestSupport.failure { try await output.deliver(alerts) }
        await output.shutdown()
        #expect(failure == nil)
        let rows = Self.rows(try await Self.query(server, #"SELECT * FROM "k8s audit""#, database: "audit"))
        #expect(rows.count == 3, "three alerts in the same microsecond are three points")
        #expect(Set(rows.compactMap { $0["id"]?.string }) == Set(alerts.map(\.alert.id)))
        #expect(rows.allSatisfy { $0["rule"]?.string == #"Weird, rule = "quoted" a\b"# && $0["cluster"]?.string == "prod eu" })
        #expect(rows.allSatisfy { $0["output"]?.string == "line one\\nsaid \"hi\", path C:\\temp = x" }, "a line break is written as \\n")
        await server.stop()
    }

    @Test func credentialsAreCheckedByInfluxDBAndARefusalIsPermanent() async throws {
        let server = try await Self.startInfluxDB(authentication: true)
        // The first user may be created without credentials; it must be an admin.
        try await Self.query(server, "CREATE USER admin WITH PASSWORD 'adm1n' WITH ALL PRIVILEGES")
        try await Self.query(server, "CREATE DATABASE audit", credentials: ("admin", "adm1n"))
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(2))
        let good = try ObservabilityHarness.output("type: influxdb\nurl: \(server.baseURL)\ndatabase: audit\nusername: admin\npassword: adm1n")
        let wrong = try ObservabilityHarness.output("type: influxdb\nurl: \(server.baseURL)\ndatabase: audit\nusername: admin\npassword: guess")
        let missing = try ObservabilityHarness.output("type: influxdb\nurl: \(server.baseURL)\ndatabase: nowhere\nusername: admin\npassword: adm1n")
        let delivered = await OutputTestSupport.failure { try await good.deliver(alerts) }
        let refused = await OutputTestSupport.failure { try await wrong.deliver(alerts) }
        let noDatabase = await OutputTestSupport.failure { try await missing.deliver(alerts) }
        for output in [good, wrong, missing] { await output.shutdown() }
        #expect(delivered == nil)
        #expect(refused?.kind == .permanent)
        #expect(refused?.reason.contains("HTTP 401") == true, "\(refused?.reason ?? "")")
        #expect(noDatabase?.kind == .permanent)
        #expect(noDatabase?.reason.contains("database not found") == true, "\(noDatabase?.reason ?? "")")
        let rows = Self.rows(try await Self.query(server, "SELECT * FROM falco", database: "audit", credentials: ("admin", "adm1n")))
        #expect(rows.count == 2)
        await server.stop()
    }

    @Test func influxDB2WritesGoToTheOrgAndBucketWithAToken() async throws {
        let receiver = try await HTTPTestReceiver(
            validator: Self.validator(path: "/api/v2/write", query: ["org": "sec ops", "bucket": "audit+alerts", "precision": "ns"],
                                      authorization: "Token s3cr3t=="),
            reply: ScriptedReply(status: 204))
        let output = try ObservabilityHarness.output("""
            type: influxdb
            url: \(receiver.baseURL)
            org: sec ops
            bucket: audit+alerts
            token: s3cr3t==
            """)
        var tricky = SampleAlerts.alert(1)
        tricky.rule = #"ends\"#
        tricky.cluster = #"a\,b"#
        tricky.time = 1_795_687_200_123_456_789
        tricky.outputFields = [("odd key=1", .string("v")), ("list", .list(["a", "b"])), ("none", .null)]
        let alerts = try ObservabilityHarness.handedOver(ObservabilityHarness.recentAlerts(4) + [tricky])
        let failure = await OutputTestSupport.failure { try await output.deliver(alerts) }
        await output.shutdown()
        #expect(failure == nil)
        #expect(receiver.rejections.map(\.reason) == [])
        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        let lines = request.bodyText.split(separator: "\n")
        #expect(lines.count == 5)
        // InfluxDB 2's escaping: `\\` is one backslash, so a backslash before a separator is doubled.
        let expected = #"falco,cluster=a\\\,b,priority=Warning,rule=ends\\,source=k8s_audit "#
            + #"output="\#(tricky.output)",value=1i,id="\#(tricky.id)",hostname="engine-0",odd\ key\=1="v",list="a,b" 1795687200123456789"#
        let last = String(lines.last ?? "")
        #expect(last == expected, "\(Array(last.utf8)) \(Array(expected.utf8))")
    }

    @Test func settingsAreCheckedWhereTheyAreWritten() {
        let base = "name: influx\ntype: influxdb\nurl: http://influx:8086\n"
        #expect(ObservabilityHarness.configurationError(base)?.contains("set database (InfluxDB 1) or bucket and org") == true)
        #expect(ObservabilityHarness.configurationError(base + "database: a\nbucket: b\norg: o\n")?.contains("outputs.yaml:5:") == true)
        #expect(ObservabilityHarness.configurationError(base + "bucket: b\n")?.contains("needs org") == true)
        #expect(ObservabilityHarness.configurationError(base + "database: a\norg: o\n")?.contains("outputs.yaml:5:") == true)
        #expect(ObservabilityHarness.configurationError(base + "database: a\nmeasurement: _internal\n")?.contains("outputs.yaml:5:") == true)
        #expect(ObservabilityHarness.configurationError(base + "bucket: b\norg: o\nretention_policy: x\n")?.contains("outputs.yaml:6:") == true)
        #expect(ObservabilityHarness.configurationError(base + "database: a\nretention_policy: autogen\n") == nil)
    }
}
