/// The pipeline's topics (DESIGN.md); names are configurable, these are the defaults.
public struct PipelineTopics: Sendable, Equatable {
    public var raw = "k8s-audit.raw"
    public var alerts = "k8s-audit.alerts"
    public var rejects = "k8s-audit.rejects"
    public var deadLetters = "k8s-audit.alerts.dlq"

    public init() {}

    public var all: [String] { [raw, alerts, rejects, deadLetters] }
}
