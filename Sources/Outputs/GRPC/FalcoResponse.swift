import FalcoOutputsAPI
import Rules
import SwiftProtobuf

extension Falco_Outputs_response {
    /// An alert as Falco's gRPC output sends it: its fields as Falco's own output_grpc fills them
    /// (`source` as text and as the old enum, unknown sources as PLUGIN), and output_fields as
    /// strings, rendered as in the alert's output line (`<NA>` for a missing value, `(a,b)` for a list).
    init(_ alert: Alert) {
        self.init()
        time = Google_Protobuf_Timestamp(seconds: alert.time.floorDividing(by: 1_000_000_000),
                                         nanos: Int32(alert.time.floorRemainder(by: 1_000_000_000)))
        priority = Falco_Schema_priority(alert.priority)
        source = alert.source
        sourceDeprecated = Falco_Schema_source(falcoSourceName: alert.source)
        rule = alert.rule
        output = alert.output
        outputFields = Dictionary(alert.outputFields.map { ($0.0, $0.1.text) }, uniquingKeysWith: { _, last in last })
        hostname = alert.hostname
        tags = alert.tags
    }
}

extension Falco_Schema_priority {
    init(_ priority: Priority) {
        switch priority {
        case .emergency: self = .emergency
        case .alert: self = .alert
        case .critical: self = .critical
        case .error: self = .error
        case .warning: self = .warning
        case .notice: self = .notice
        case .informational: self = .informational
        case .debug: self = .debug
        }
    }
}

extension Falco_Schema_source {
    /// Falco parses the source name into the enum (any of its spellings) and calls anything else a plugin.
    init(falcoSourceName name: String) {
        switch name {
        case "syscall", "SYSCALL", "Syscall": self = .syscall
        case "k8s_audit", "K8S_AUDIT", "K8s_audit", "K8S_audit": self = .k8SAudit
        case "internal", "INTERNAL", "Internal": self = .internal
        default: self = .plugin
        }
    }
}

private extension Int64 {
    func floorDividing(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }

    func floorRemainder(by divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
