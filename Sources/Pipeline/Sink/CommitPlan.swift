import Kafka

/// Which offsets may be committed after the first `done` of a batch of messages were handled:
/// per partition, the offset of its first message not handled (never past an undelivered alert),
/// or the one after its last message when all of them were.
enum CommitPlan {
    static func nextOffsets(_ messages: [KafkaMessage], done: Int) -> [TopicPartition: Int64] {
        var next: [TopicPartition: Int64] = [:]
        var blocked = Set<TopicPartition>()
        for (index, message) in messages.enumerated() {
            let partition = TopicPartition(message.topic, message.partition)
            guard !blocked.contains(partition) else { continue }
            if index < done {
                next[partition] = message.offset + 1
            } else {
                next[partition] = message.offset
                blocked.insert(partition)
            }
        }
        return next
    }
}
