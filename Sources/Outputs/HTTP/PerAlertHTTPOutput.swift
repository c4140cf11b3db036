import Foundation

/// An output that sends each alert as one HTTP request over its `HTTPTransport` (chat and
/// incident services, webhooks): it says how an alert becomes a request; delivery and shutdown
/// are shared here. A batch's requests are sent at the same time (`maxBatchSize` of them at
/// most, 1 unless the output says otherwise).
public protocol PerAlertHTTPOutput: AlertOutput {
    var transport: HTTPTransport { get }
    func request(for alert: OutputAlert) throws -> HTTPTransport.Request
}

extension PerAlertHTTPOutput {
    /// One alert at a time by default: chat and incident services rate-limit, and a failed batch
    /// is retried whole (re-posting messages that already went out).
    public var maxBatchSize: Int { 1 }

    public func deliver(_ alerts: [OutputAlert]) async throws {
        try await transport.sendConcurrently(alerts.map(request(for:)))
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
