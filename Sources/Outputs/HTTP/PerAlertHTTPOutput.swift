import Foundation

/// An output that sends each alert as one HTTP request over its `HTTPTransport` (chat and
/// incident services, webhooks): it says how an alert becomes a request; delivery, the batch
/// size of one and shutdown are shared here.
public protocol PerAlertHTTPOutput: AlertOutput {
    var transport: HTTPTransport { get }
    func request(for alert: OutputAlert) throws -> HTTPTransport.Request
}

extension PerAlertHTTPOutput {
    /// One alert per request: these services take no batches, and a failed batch would be
    /// retried whole (re-posting chat messages that already went out).
    public var maxBatchSize: Int { 1 }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        for alert in alerts { try await transport.send(request(for: alert)) }
    }

    public func shutdown() async { await transport.shutdown() }
}

/// JSON bodies of the services' own message formats, from `Encodable` models.
public enum JSONBody {
    /// Sorted keys keep payloads byte-for-byte reproducible; slashes stay as they are (URLs).
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw DeliveryFailure.permanent("cannot encode the message as JSON: \(error)")
        }
    }
}
