import Foundation
import Kafka
import Outputs
import Rules
import Settings
import Testing
import TestSupport

/// The shared delivery policy, tested once for every output: retries, Retry-After, dead letters,
/// de-duplication, rate limit, batching, priority filter, fields, stopping.
@Suite(.serialized) struct DeliveryPolicyTests {
    @Test func transientFailuresAreRetriedUntilTheOutputTakesTheAlert() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "retrying", script: [.transient("503"), .transient("connection reset")])
        let policy = try harness.policy(output, PolicyHarness.settings("retrying"))
        let alert = SampleAlerts.alert(1)
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        #expect(await output.attempts.count == 3)
        #expect(await output.delivered.map(\.alert.id) == [alert.id])
        #expect(harness.counter("retried", output: "retrying") == 2)
        #expect(harness.counter("delivered", output: "retrying") == 1)
        #expect(harness.counter("dead_lettered", output: "retrying") == 0)
    }

    @Test func retryAfterFromTheServiceIsHonoured() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(script: [.transient("429 Too Many Requests", retryAfter: .seconds(1))])
        let policy = try harness.policy(output, PolicyHarness.settings("limited"))
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(2)])) == 1)
        let times = await output.attemptTimes
        #expect(times.count == 2)
        // The computed backoff would be at most 10 ms; the service asked for a second.
        #expect(times[1] - times[0] >= .seconds(1))
    }

    @Test func backoffIsExponentialWithFullJitterUpToTheMaximum() {
        let backoff = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect(backoff.ceiling(retry: 1) == .milliseconds(100))
        #expect(backoff.ceiling(retry: 2) == .milliseconds(200))
        #expect(backoff.ceiling(retry: 4) == .milliseconds(800))
        #expect(backoff.ceiling(retry: 5) == .seconds(1))
        #expect(backoff.ceiling(retry: 60) == .seconds(1))
        var delays = Set<Duration>()
        for _ in 0..<50 {
            let delay = backoff.delay(retry: 3, retryAfter: nil)
            #expect(delay >= .zero && delay <= .milliseconds(400))
            delays.insert(delay)
        }
        #expect(delays.count > 10, "full jitter spreads the waits")
        #expect(backoff.delay(retry: 1, retryAfter: .seconds(7)) == .seconds(7))
        #expect(backoff.delay(retry: 1, retryAfter: .seconds(86_400)) == RetryBackoff.longestRetryAfter)
    }

    @Test func aPermanentFailureDeadLettersTheAlertWithOutputErrorAndAttempts() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "refusing", script: [.permanent("400 Bad Request: invalid payload")])
        let policy = try harness.policy(output, PolicyHarness.settings("refusing"))
        let alert = SampleAlerts.alert(3)
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        #expect(await output.attempts.count == 1)
        let letters = try harness.deadLetters(count: 1)
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.value == Array(AlertEncoder.json(alert).utf8))
        #expect(letter.key == Array(alert.cluster.utf8))
        #expect(letter.header("output") == "refusing")
        #expect(letter.header("error") == "400 Bad Request: invalid payload")
        #expect(letter.header("attempts") == "1")
        #expect(harness.counter("dead_lettered", output: "refusing") == 1)
    }

    @Test func alertsOutOfRetriesAreDeadLettered() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "down", script: Array(repeating: .transient("connection refused"), count: 10))
        let policy = try harness.policy(output, PolicyHarness.settings("down") { $0.retry.maxAttempts = 3 })
        let alert = SampleAlerts.alert(4)
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        #expect(await output.attempts.count == 3)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("attempts") == "3")
        #expect(letter.header("error") == "gave up after 3 attempts: connection refused")
        #expect(harness.counter("retried", output: "down") == 2)
    }

    @Test func aRefusedBatchIsRetriedAlertByAlertSoOnlyTheRefusedOnesAreDeadLettered() async throws {
        let harness = try PolicyHarness()
        let alerts = (10..<15).map { SampleAlerts.alert($0) }
        let output = ScriptedOutput(name: "picky", maxBatchSize: 10, refusing: [alerts[2].id])
        let policy = try harness.policy(output, PolicyHarness.settings("picky"))
        #expect(await policy.process(PolicyHarness.items(alerts)) == 5)
        #expect(await Set(output.delivered.map(\.alert.id)) == Set(alerts.map(\.id)).subtracting([alerts[2].id]))
        let letters = try harness.deadLetters(count: 1)
        #expect(letters.map { $0.value } == [Array(AlertEncoder.json(alerts[2]).utf8)])
    }

    @Test func alertsWhoseIDWasDeliveredWithinTheWindowAreSkipped() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "dedup", maxBatchSize: 100)
        let policy = try harness.policy(output, PolicyHarness.settings("dedup"))
        let alerts = (0..<20).map { SampleAlerts.alert($0) }
        // The engine's replays: the same alerts again, within one read and in a later one.
        #expect(await policy.process(PolicyHarness.items(alerts + alerts[0..<5])) == 25)
        #expect(await policy.process(PolicyHarness.items(Array(alerts[5..<20]))) == 15)
        #expect(await output.delivered.map(\.alert.id) == alerts.map(\.id))
        #expect(harness.counter("deduplicated", output: "dedup") == 20)
    }

    @Test func theDeduplicationWindowForgetsOldIDsAndStaysBounded() {
        var recent = RecentAlertIDs(window: .seconds(10), capacity: 100)
        let start = ContinuousClock.now
        recent.insert("0123456789abcdef0123456789abcdef", now: start)
        recent.insert("not-hex-id", now: start)
        #expect(recent.contains("0123456789ABCDEF0123456789ABCDEF", now: start + .seconds(9)))
        #expect(recent.contains("not-hex-id", now: start + .seconds(9)))
        #expect(!recent.contains("0123456789abcdef0123456789abcdef", now: start + .seconds(10)))
        for index in 0..<1000 { recent.insert("id-\(index)", now: start + .seconds(11)) }
        #expect(recent.count == 100)
        #expect(recent.contains("id-999", now: start + .seconds(11)))
        #expect(!recent.contains("id-0", now: start + .seconds(11)))
    }

    @Test func theRateLimitSpacesDeliveries() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "slow-service")
        let policy = try harness.policy(output, PolicyHarness.settings("slow-service") { $0.rateLimit = 20 })
        let start = ContinuousClock.now
        #expect(await policy.process(PolicyHarness.items((0..<11).map { SampleAlerts.alert($0) })) == 11)
        let times = await output.attemptTimes
        #expect(times.count == 11)
        // Slot i opens 50 ms after slot i-1, the first at the start: no delivery starts before its slot.
        for (index, time) in times.enumerated() {
            #expect(time - start >= .milliseconds(50) * index, "delivery \(index)")
        }
    }

    @Test func batchesAreAsLargeAsConfiguredButNoLargerThanTheOutputTakes() async throws {
        let harness = try PolicyHarness()
        let alerts = (0..<23).map { SampleAlerts.alert($0, priority: .critical) }
        let small = ScriptedOutput(name: "small", maxBatchSize: 5)
        let bounded = try harness.policy(small, PolicyHarness.settings("small") { $0.batch.maxSize = 7 })
        #expect(bounded.batchSize == 5)
        #expect(await bounded.process(PolicyHarness.items(alerts)) == 23)
        #expect(await small.attempts.map(\.count) == [5, 5, 5, 5, 3])
        let large = ScriptedOutput(name: "large", maxBatchSize: 1000)
        let configured = try harness.policy(large, PolicyHarness.settings("large") { $0.batch.maxSize = 7 })
        #expect(await configured.process(PolicyHarness.items(alerts)) == 23)
        #expect(await large.attempts.map(\.count) == [7, 7, 7, 2])
        #expect(await large.delivered.map(\.alert.id) == alerts.map(\.id))
    }

    @Test func alertsBelowTheMinimumPriorityAreFilteredAndDone() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "warnings", maxBatchSize: 100)
        let policy = try harness.policy(output, PolicyHarness.settings("warnings") { $0.minimumPriority = .warning })
        let alerts: [Alert] = [.critical, .notice, .warning, .debug, .emergency, .informational].enumerated().map {
            SampleAlerts.alert($0.offset, priority: $0.element)
        }
        #expect(await policy.process(PolicyHarness.items(alerts)) == 6)
        #expect(await output.delivered.map(\.alert.priority) == [.critical, .warning, .emergency])
        #expect(harness.counter("filtered", output: "warnings") == 3)
    }

    @Test func customAndTemplatedFieldsAreAddedAndTheJSONReencodedOnlyThen() async throws {
        let harness = try PolicyHarness()
        let plain = ScriptedOutput(name: "plain")
        let alert = SampleAlerts.alert(5)
        let plainPolicy = try harness.policy(plain, PolicyHarness.settings("plain"))
        #expect(await plainPolicy.process(PolicyHarness.items([alert])) == 1)
        #expect(await plain.delivered.first?.json == Array(AlertEncoder.json(alert).utf8))

        let enriched = ScriptedOutput(name: "enriched")
        let policy = try harness.policy(enriched, PolicyHarness.settings("enriched") {
            $0.customFields = ["env": "prod", "team": "sec"]
            $0.templatedFields = ["target": "%ka.target.namespace/%ka.target.name", "missing": "%ka.nope!",
                                  "env": "%ka.cluster.name"]
        })
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        let delivered = try #require(await enriched.delivered.first)
        #expect(delivered.alert.outputField("team") == .string("sec"))
        #expect(delivered.alert.outputField("target") == .string("web/api-5"))
        #expect(delivered.alert.outputField("missing") == .string("<NA>!"))
        // A templated field wins over a custom field of the same name.
        #expect(delivered.alert.outputField("env") == .string(alert.cluster))
        #expect(delivered.alert.outputFields.filter { $0.0 == "env" }.count == 1)
        let decoded = try AlertDecoder().decode(delivered.json)
        #expect(decoded.outputField("target") == .string("web/api-5"))
        #expect(decoded.id == alert.id)
    }

    @Test func templatesUseFalcosOutputSyntax() throws {
        let alert = Alert(time: 0, rule: "r", priority: .warning, output: "o", outputFields: [
            ("ka.user.name", .string("bob")), ("ka.req.pod.containers.image", .list(["a:1", "b:2"])),
            ("evt.time", .integer(42)), ("ka.target.name", .null), ("jevt.value[/spec/x]", .string("v")),
        ], source: "k8s_audit", tags: [], hostname: "", cluster: "", auditID: "", id: "i", origin: nil)
        #expect(try FieldTemplate(parsing: "user %ka.user.name.").render(alert) == "user bob.")
        #expect(try FieldTemplate(parsing: "%ka.req.pod.containers.image at %evt.time").render(alert) == "(a:1,b:2) at 42")
        #expect(try FieldTemplate(parsing: "[%ka.target.name]").render(alert) == "[<NA>]")
        #expect(try FieldTemplate(parsing: "%jevt.value[/spec/x]").render(alert) == "v")
        #expect(throws: FieldTemplate.SyntaxError.self) { try FieldTemplate(parsing: "100% sure") }
        #expect(throws: FieldTemplate.SyntaxError.self) { try FieldTemplate(parsing: "%jevt.value[/a") }
    }

    @Test func aDeliveryThatTakesLongerThanTheTimeoutIsRetried() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "hanging", delay: .milliseconds(400))
        let policy = try harness.policy(output, PolicyHarness.settings("hanging") {
            $0.timeout = ConfigDuration(.milliseconds(100))
            $0.retry.maxAttempts = 2
        })
        #expect(await policy.process(PolicyHarness.items([SampleAlerts.alert(6)])) == 1)
        #expect(await output.attempts.count == 2)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("error")?.contains("no answer within") == true)
    }

    @Test func messagesThatAreNotAlertsAreDeadLetteredInOrderWithTheReason() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "mixed", maxBatchSize: 100)
        let policy = try harness.policy(output, PolicyHarness.settings("mixed"))
        let items: [DeliveryItem] = PolicyHarness.items([SampleAlerts.alert(1)])
            + [.undecodable(value: Array("garbage".utf8), key: nil, reason: "not JSON: bad")]
            + PolicyHarness.items([SampleAlerts.alert(2)])
        #expect(await policy.process(items) == 3)
        #expect(await output.attempts.map(\.count) == [1, 1], "the alert before the poison message is delivered first")
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.value == Array("garbage".utf8))
        #expect(letter.header("error") == "not JSON: bad")
        #expect(letter.header("attempts") == "0")
        #expect(letter.header("output") == "mixed")
    }

    @Test func stoppingLeavesTheUndeliveredRestForNextTime() async throws {
        let harness = try PolicyHarness()
        let output = ScriptedOutput(name: "stopping", script: [nil, .transient("down")] + Array(repeating: .transient("down"), count: 50))
        let policy = try harness.policy(output, PolicyHarness.settings("stopping") {
            $0.retry.maxAttempts = 100
            $0.retry.initialBackoff = ConfigDuration(.seconds(1))
            $0.retry.maxBackoff = ConfigDuration(.seconds(1))
        })
        let stop = harness.stop
        Task {
            try await Task.sleep(for: .milliseconds(300))
            stop.stop()
        }
        let done = await policy.process(PolicyHarness.items((0..<3).map { SampleAlerts.alert($0) }))
        #expect(done == 1, "the first alert was delivered; the second was being retried when the stop came")
        #expect(harness.counter("dead_lettered", output: "stopping") == 0)
    }
}
