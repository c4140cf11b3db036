import Kafka
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
}
