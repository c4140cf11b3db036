/// Why a replay could not start or finish, in words that say what to do.
public enum ReplayError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No broker answered in time.
    case brokersUnreachable(brokers: String, seconds: Int, reason: String)
    /// The topic to read does not exist.
    case unknownTopic(String, brokers: String, existing: [String])
    /// Alerts would go to a topic that does not exist.
    case missingOutputTopic(String)
    /// Alerts would go to the live alerts topic, and `--allow-live-topic` was not given.
    case liveAlertsTopic(String)
    /// Alerts would go to a pipeline topic that never holds alerts (raw, rejects, dead letters).
    case pipelineTopic(String)
    /// `--to` is not after `--from`.
    case emptyRange(ReplayRange)
    /// Nothing to replay: no message in the range, or none of the clusters asked for.
    case noData(String)
    /// Reading stopped making progress (brokers gone mid-replay).
    case stalled(seconds: Int, partitions: [String])
    /// The output file cannot be written.
    case output(String)

    public var description: String {
        switch self {
        case .brokersUnreachable(let brokers, let seconds, let reason):
            return "cannot reach the Kafka brokers \(brokers) within \(seconds) s (\(reason)): check --brokers and that Kafka runs"
        case .unknownTopic(let topic, let brokers, let existing):
            let known = existing.isEmpty ? "none" : existing.sorted().joined(separator: ", ")
            return "topic '\(topic)' does not exist on \(brokers) (topics there: \(known))"
        case .missingOutputTopic(let topic):
            return "output topic '\(topic)' does not exist: create it, or choose another with --output topic:NAME"
        case .liveAlertsTopic(let topic):
            return "--output topic:\(topic) is the live alerts topic that the sink delivers from: "
                + "replayed alerts would reach every output again; add --allow-live-topic if that is what you want"
        case .pipelineTopic(let topic):
            return "--output topic:\(topic) is a pipeline topic that holds no alerts: choose another topic"
        case .emptyRange(let range):
            return "the range \(range) is empty: --to must be after --from"
        case .noData(let detail):
            return "nothing to replay: \(detail)"
        case .stalled(let seconds, let partitions):
            return "reading made no progress for \(seconds) s on \(partitions.joined(separator: ", ")): are the brokers still up?"
        case .output(let reason):
            return reason
        }
    }
}
