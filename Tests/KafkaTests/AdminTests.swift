@testable import Kafka
import Testing

@Suite struct AdminTests {
    @Test func describesTopicsAndBrokersOfTheDevCluster() throws {
        let cluster = try MockKafkaCluster(brokers: 3)
        for topic in PipelineTopics().all { try cluster.createTopic(topic, partitions: 24, replicationFactor: 3) }
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        let topics = try admin.describeTopics()
        #expect(Set(topics.keys) == Set(PipelineTopics().all))
        #expect(topics.values.allSatisfy { $0.partitions == 24 && $0.replicationFactor == 3 })
        #expect(try admin.brokerCount() == 3)
    }

    @Test func anUnreachableClusterIsAnError() throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let bootstrap = cluster.bootstrapServers
        try cluster.setBroker(1, up: false)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
        #expect(throws: KafkaError.self) { try admin.describeTopics(timeout: .seconds(1)) }
    }

    /// librdkafka 2.0.2's mock brokers do not implement CreateTopics: the call fails with an error that says so.
    /// (Creating topics on a real Kafka is not exercised by these tests.)
    @Test func creatingTopicsOnTheMockClusterFailsWithAClearError() throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        let topic = NewTopic(name: "k8s-audit.raw", partitions: 24, replicationFactor: 1, configs: ["retention.ms": "604800000"])
        do {
            try admin.createTopics([topic], timeout: .seconds(5))
            Issue.record("the mock cluster created a topic through CreateTopics")
        } catch let error as KafkaError {
            #expect(error.message.hasPrefix("create topic 'k8s-audit.raw': "), "\(error)")
            #expect(error.message.contains("controller") && error.message.contains("CreateTopics"), "\(error)")
        }
    }

    @Test func anExistingTopicCountsAsCreatedAndOtherErrorsNameTheTopic() throws {
        #expect(try KafkaAdmin.outcome(topic: "t", code: 0, reason: "") == .created)
        #expect(try KafkaAdmin.outcome(topic: "t", code: 36, reason: "Topic 't' already exists.") == .alreadyExisted)
        #expect(throws: KafkaError.self) { try KafkaAdmin.outcome(topic: "t", code: 38, reason: "") }
        do {
            _ = try KafkaAdmin.outcome(topic: "audit", code: 38, reason: "Replication factor: 3 larger than available brokers: 1.")
        } catch let error as KafkaError {
            #expect(error.message == "create topic 'audit': Replication factor: 3 larger than available brokers: 1.")
            #expect(error.code == 38)
        }
    }

    @Test func wrongTopicSettingsAreRefusedBeforeAnythingIsSent() throws {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        #expect(throws: KafkaError.self) { try admin.createTopics([NewTopic(name: "t", partitions: -5)], timeout: .seconds(1)) }
    }
}
