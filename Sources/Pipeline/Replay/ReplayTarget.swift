import Kafka

/// Where replayed alerts go: `stdout` (JSON lines), `file:PATH` (JSON lines; the file is replaced) or
/// `topic[:NAME]` (records as the engine writes them; default `k8s-audit.alerts.replay`).
public enum ReplayTarget: Sendable, Equatable, CustomStringConvertible {
    case stdout
    case file(String)
    case topic(String)

    /// Where replays write unless told otherwise: beside the live alerts, never into them.
    public static let defaultTopic = "k8s-audit.alerts.replay"

    /// Nil when the text is none of the forms.
    public init?(parsing text: String) {
        if text == "stdout" || text == "-" {
            self = .stdout
        } else if text == "topic" {
            self = .topic(Self.defaultTopic)
        } else if text.hasPrefix("topic:"), text.count > 6 {
            self = .topic(String(text.dropFirst(6)))
        } else if text.hasPrefix("file:"), text.count > 5 {
            self = .file(String(text.dropFirst(5)))
        } else {
            return nil
        }
    }

    /// Refuses the live alerts topic (unless `allowLiveTopic`) and the pipeline's other topics, whose readers
    /// would take alerts for what they are not.
    public func check(against topics: PipelineTopics, allowLiveTopic: Bool) throws(ReplayError) {
        guard case .topic(let name) = self else { return }
        if name == topics.alerts, !allowLiveTopic { throw .liveAlertsTopic(name) }
        if [topics.raw, topics.rejects, topics.deadLetters].contains(name) { throw .pipelineTopic(name) }
    }

    public var description: String {
        switch self {
        case .stdout: "stdout"
        case .file(let path): "file:\(path)"
        case .topic(let name): "topic:\(name)"
        }
    }
}
