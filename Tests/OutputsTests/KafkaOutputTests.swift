import Foundation
import Kafka
import Outputs
import Rules
import Settings
import Testing
import TestSupport

/// The Kafka output through the delivery policy, against dev clusters: routing by priority, rule,
/// tags and cluster, the alerts topic's key and headers, a cluster that is down for a while, and
/// a message the cluster refuses.
@Suite(.serialized) struct KafkaOutputTests {
    static let routedTopics = ["k8s-audit.alerts.critical", "k8s-audit.alerts.rbac", "k8s-audit.alerts.staging-exec",
                               "k8s-audit.alerts.other"]

    static func configuration() -> KafkaOutput.Configuration {
        KafkaOutput.Configuration(topic: "k8s-audit.alerts.other", routes: [
            KafkaOutput.Route(topic: "k8s-audit.alerts.critical", minimumPriority: .critical),
            KafkaOutput.Route(topic: "k8s-audit.alerts.rbac", tags: ["rbac"]),
            KafkaOutput.Route(topic: "k8s-audit.alerts.staging-exec", rules: ["Pod exec"], clusters: ["staging"]),
        ])
    }

    static func output(_ name: String, cluster: TestCluster, settings: [String: String] = [:],
                       configuration: KafkaOutput.Configuration = configuration()) throws -> KafkaOutput {
        KafkaOutput(name: name, configuration: configuration,
                    producer: try KafkaProducer(configuration: cluster.configuration(settings)))
    }

    @Test func alertsAreRoutedByPriorityTagsRuleAndCluster() async throws {
        let harness = try PolicyHarness()
        let target = try TestCluster(brokers: 1, partitions: 4, extraTopics: Self.routedTopics)
        let output = try Self.output("topics", cluster: target)
        let alerts = (0..<60).map { SampleAlerts.alert($0) }
        #expect(try await harness.policy(output, PolicyHarness.settings("topics")).process(PolicyHarness.items(alerts)) == 60)
        func expected(_ topic: String) -> Set<String> {
            Set(alerts.filter { output.topic(for: $0) == topic }.map(\.id))
        }
        // The routing itself: first match wins.
        #expect(alerts.filter { $0.priority <= .critical }.allSatisfy { output.topic(for: $0) == "k8s-audit.alerts.critical" })
        var total = 0
        for topic in Self.routedTopics {
            let wanted = expected(topic)
            let messages = try target.read(topic, count: wanted.count)
            let decoded = try messages.map { try AlertDecoder().decode($0.value) }
            #expect(Set(decoded.map(\.id)) == wanted, "\(topic)")
            for (message, alert) in zip(messages, decoded) {
                #expect(message.key == Array(alert.cluster.utf8))
                #expect(message.header("cluster") == alert.cluster)
                #expect(message.header("rule") == alert.rule)
                #expect(message.header("priority") == alert.priority.name)
                #expect(message.value == Array(AlertEncoder.json(alert).utf8))
            }
            total += messages.count
        }
        #expect(total == 60)
        #expect(Self.routedTopics.allSatisfy { !expected($0).isEmpty }, "the sample reaches every route")
        await output.shutdown()
    }

    @Test func thePriorityFilterAndCustomFieldsApply() async throws {
        let harness = try PolicyHarness()
        let target = try TestCluster(brokers: 1, partitions: 4, extraTopics: ["out"])
        let output = try Self.output("fields", cluster: target, configuration: .init(topic: "out"))
        let policy = try harness.policy(output, PolicyHarness.settings("fields") {
            $0.minimumPriority = .error
            $0.customFields = ["env": "prod"]
            $0.templatedFields = ["who": "%ka.user.name@%ka.cluster.name"]
        })
        let alerts = (0..<20).map { SampleAlerts.alert($0) }
        #expect(await policy.process(PolicyHarness.items(alerts)) == 20)
        let wanted = alerts.filter { $0.priority <= .error }
        let decoded = try target.read("out", count: wanted.count).map { try AlertDecoder().decode($0.value) }
        #expect(Set(decoded.map(\.id)) == Set(wanted.map(\.id)))
        #expect(decoded.allSatisfy { $0.outputField("env") == .string("prod") })
        #expect(decoded.allSatisfy { $0.outputField("who") == .string("alice@\($0.cluster)") })
        await output.shutdown()
    }

    @Test func aClusterThatIsDownIsRetriedUntilItIsBack() async throws {
        let harness = try PolicyHarness()
        let target = try TestCluster(brokers: 1, partitions: 4, extraTopics: ["out"])
        let output = try Self.output("remote", cluster: target, settings: ["message.timeout.ms": "1000"],
                                     configuration: .init(topic: "out"))
        let policy = try harness.policy(output, PolicyHarness.settings("remote") {
            $0.retry.maxAttempts = 1000
            $0.retry.maxBackoff = ConfigDuration(.milliseconds(200))
        })
        try target.cluster.setBroker(1, up: false)
        let cluster = target.cluster
        Task {
            try await Task.sleep(for: .seconds(3))
            try cluster.setBroker(1, up: true)
        }
        let alerts = (0..<10).map { SampleAlerts.alert($0) }
        #expect(await policy.process(PolicyHarness.items(alerts)) == 10)
        #expect(harness.counter("retried", output: "remote") > 0)
        #expect(harness.counter("dead_lettered", output: "remote") == 0)
        let ids = try target.read("out", count: 10).map { try AlertDecoder().decode($0.value).id }
        #expect(Set(ids) == Set(alerts.map(\.id)))
        await output.shutdown()
    }

    @Test func aMessageTheClusterRefusesIsDeadLettered() async throws {
        let harness = try PolicyHarness()
        let target = try TestCluster(brokers: 1, partitions: 4, extraTopics: ["out"])
        let output = try Self.output("strict", cluster: target, settings: ["message.max.bytes": "2000"],
                                     configuration: .init(topic: "out"))
        let policy = try harness.policy(output, PolicyHarness.settings("strict") {
            $0.templatedFields = ["padding": String(repeating: "%ka.user.name ", count: 400)]
        })
        let alert = SampleAlerts.alert(1)
        #expect(await policy.process(PolicyHarness.items([alert])) == 1)
        let letter = try #require(try harness.deadLetters(count: 1).first)
        #expect(letter.header("attempts") == "1")
        #expect(letter.header("error")?.contains("MSG_SIZE_TOO_LARGE") == true)
        #expect(letter.value == Array(AlertEncoder.json(alert).utf8), "the dead letter is the alert as it was read")
        await output.shutdown()
    }

    @Test func routesAreReadFromTheConfigurationAndNeedACondition() throws {
        let yaml = """
            topic: all
            routes:
              - {topic: crit, minimum_priority: critical}
              - {topic: prod, clusters: [prod-eu], tags: [rbac]}
            settings: {linger.ms: "20"}
            """
        let configuration = try ConfigDecoder.decode(KafkaOutput.Configuration.self, yaml: yaml, file: "out.yaml")
        #expect(configuration.routes == [KafkaOutput.Route(topic: "crit", minimumPriority: .critical),
                                         KafkaOutput.Route(topic: "prod", tags: ["rbac"], clusters: ["prod-eu"])])
        #expect(configuration.settings == ["linger.ms": "20"])
        #expect(throws: ConfigErrors.self) {
            try ConfigDecoder.decode(KafkaOutput.Configuration.self, yaml: "topic: all\nroutes: [{topic: x}]\n", file: "out.yaml")
        }
    }
}
