import Kafka
import Logging
import Metrics
import NIOPosix
import Outputs
import Rules
import Settings

/// What every output test builds outputs with: the shared event loops, no Kafka, a quiet logger.
enum OutputTestSupport {
    static let context = OutputContext(eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                       kafka: KafkaConfiguration(), logger: Logger(label: "outputs-test"),
                                       metrics: NOOPMetricsHandler.instance)

    /// Common settings for an output under test (a generous timeout: the machine is shared).
    static func settings(_ name: String = "test", type: String, timeout: Duration = .seconds(30),
                         tls: TLSSettings = TLSSettings()) -> OutputSettings {
        var settings = OutputSettings(name: name, type: type)
        settings.timeout = ConfigDuration(timeout)
        settings.tls = tls
        return settings
    }

    /// The `DeliveryFailure` an operation threw (nil when it succeeded or threw something else).
    static func failure(_ operation: () async throws -> Void) async -> DeliveryFailure? {
        do {
            try await operation()
            return nil
        } catch let failure as DeliveryFailure {
            return failure
        } catch {
            return nil
        }
    }
}
