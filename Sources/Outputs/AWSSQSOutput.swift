import Crypto
import Foundation
import Rules

/// falcosidekick's AWS SQS output: each alert's JSON as a message body, with `priority`,
/// `rule`, `cluster` and `source` as string message attributes (for SNS-style filtering), sent
/// with SQS's JSON protocol (`AmazonSQS.SendMessage`, or `SendMessageBatch` for up to 10).
///
/// ```yaml
/// - name: sqs
///   type: aws_sqs
///   queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/falco-alerts
///   batch: {max_size: 10}            # 1 to 10 messages per request (default 10)
///   message_group_id: <cluster>      # FIFO queues (*.fifo) only; placeholders as in subjects
///   region: eu-west-1                # and the other AWS settings: see AWSSettings
/// ```
///
/// FIFO queues get the alert's id as MessageDeduplicationId, so SQS itself drops a resent
/// alert within its 5-minute window. Every message's MD5 in the answer is checked. When SQS
/// refuses some entries of a batch, the batch fails (transient unless every refusal is the
/// sender's fault); the delivery policy then retries it alert by alert, so the accepted
/// entries may arrive twice (same alert id; FIFO queues drop the repeat).
public struct AWSSQSOutput: AlertOutput {
    public struct Configuration: OutputConfiguration {
        public static let type = "aws_sqs"
        var queueURL: EndpointURL
        var messageGroupID: AlertTemplate
        var aws: AWSSettings

        enum CodingKeys: String, CodingKey {
            case queueUrl, messageGroupId
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            queueURL = try container.decode(EndpointURL.self, forKey: .queueUrl)
            messageGroupID = try container.decodeTemplate(forKey: .messageGroupId, default: "<cluster>")
            aws = try AWSSettings(from: decoder)
        }

        /// `sqs.eu-west-1.amazonaws.com` or the legacy `eu-west-1.queue.amazonaws.com` names its region.
        var regionInQueueURL: String? {
            let host = String(queueURL.origin.drop { $0 != ":" }.dropFirst(3).prefix { $0 != ":" })
            let labels = host.split(separator: ".").map(String.init)
            if labels.count >= 4, labels[0] == "sqs" { return labels[1] }
            if labels.count >= 4, labels[1] == "queue" { return labels[0] }
            return nil
        }

        public func makeOutput(_ common: OutputSettings, context: OutputContext) throws -> any AlertOutput {
            let environment = ProcessInfo.processInfo.environment
            let region = try aws.region(output: common.name, fromResource: regionInQueueURL, environment: environment)
            let signer = AWSSignatureV4(credentials: try aws.credentials(output: common.name, environment: environment),
                                        region: region, service: "sqs")
            let endpoint = aws.endpointURL.map { EndpointURL($0.origin)! } ?? EndpointURL(queueURL.origin)!
            let client = AWSServiceClient(transport: try HTTPTransport(common, context: context), signer: signer, endpoint: endpoint)
            return AWSSQSOutput(name: common.name, queueURL: queueURL.text, isFIFO: queueURL.text.hasSuffix(".fifo"),
                                messageGroupID: messageGroupID, client: client)
        }
    }

    public let name: String
    /// SendMessageBatch takes at most 10 (`batch.max_size` chooses fewer).
    public var maxBatchSize: Int { 10 }
    let queueURL: String
    let isFIFO: Bool
    let messageGroupID: AlertTemplate
    let client: AWSServiceClient

    /// SQS's limit on a request's messages together.
    static let maxBatchBytes = 256 * 1024

    public func deliver(_ alerts: [OutputAlert]) async throws {
        var start = 0
        while start < alerts.count {
            // As many as fit under the size limit, at least one (SQS judges a single oversized one).
            var end = start + 1
            var bytes = alerts[start].json.count
            while end < alerts.count, bytes + alerts[end].json.count <= Self.maxBatchBytes {
                bytes += alerts[end].json.count
                end += 1
            }
            let part = Array(alerts[start..<end])
            if part.count == 1 {
                try await sendMessage(part[0])
            } else {
                try await sendMessageBatch(part)
            }
            start = end
        }
    }

    public func shutdown() async {
        await client.shutdown()
    }

    /// The message for `alert`; `id` names it within a batch.
    private func message(_ alert: OutputAlert, id: String? = nil, queueURL: String? = nil) -> SQSMessage {
        var attributes: [String: SQSMessage.Attribute] = [:]
        for (name, value) in [("priority", alert.alert.priority.name), ("rule", alert.alert.rule),
                              ("cluster", alert.alert.cluster), ("source", alert.alert.source)] where !value.isEmpty {
            attributes[name] = SQSMessage.Attribute(stringValue: value)
        }
        return SQSMessage(
            queueURL: queueURL, id: id, body: String(decoding: alert.json, as: UTF8.self),
            attributes: attributes.isEmpty ? nil : attributes,
            groupID: isFIFO ? String(messageGroupID.render(alert.alert).prefix(128)) : nil,
            deduplicationID: isFIFO ? String(alert.alert.id.prefix(128)) : nil)
    }

    private func sendMessage(_ alert: OutputAlert) async throws {
        let response = try await call("SendMessage", message(alert, queueURL: queueURL))
        let result = try decode(SQSSendMessageResult.self, response, operation: "SendMessage")
        try Self.checkDigest(result.digest, of: alert.json, id: result.messageID)
    }

    private func sendMessageBatch(_ alerts: [OutputAlert]) async throws {
        let entries = alerts.enumerated().map { message($0.element, id: String($0.offset)) }
        let response = try await call("SendMessageBatch", SQSSendMessageBatch(queueURL: queueURL, entries: entries))
        let result = try decode(SQSSendMessageBatchResult.self, response, operation: "SendMessageBatch")
        if !result.failed.isEmpty {
            let reasons = result.failed.map { "\($0.id): \($0.code)\($0.message.map { " \($0)" } ?? "")" }.joined(separator: "; ")
            let reason = "AWS sqs SendMessageBatch: \(result.failed.count) of \(alerts.count) messages refused (\(reasons))"
            throw result.failed.allSatisfy(\.senderFault) ? DeliveryFailure.permanent(reason) : DeliveryFailure.transient(reason)
        }
        for success in result.successful {
            guard let index = Int(success.id), alerts.indices.contains(index) else {
                throw DeliveryFailure.transient("AWS sqs SendMessageBatch: an answer for an entry not sent (\(success.id))")
            }
            try Self.checkDigest(success.digest, of: alerts[index].json, id: success.messageID)
        }
        guard Set(result.successful.map(\.id)).count == alerts.count else {
            throw DeliveryFailure.transient("AWS sqs SendMessageBatch: \(result.successful.count) of \(alerts.count) messages confirmed")
        }
    }

    private func call(_ operation: String, _ request: some Encodable) async throws -> HTTPTransport.Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try await client.send(operation: operation, path: "/", headers: [
            ("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "AmazonSQS.\(operation)"),
        ], body: Array(try encoder.encode(request)))
    }

    private func decode<Result: Decodable>(_ type: Result.Type, _ response: HTTPTransport.Response, operation: String) throws -> Result {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw DeliveryFailure.transient("AWS sqs \(operation): an answer that is not the documented JSON (\(error))")
        }
    }

    /// MD5, as SQS computes it for its answers (not for security: a transfer check).
    static func md5Hex(_ bytes: [UInt8]) -> String {
        AWSSignatureV4.hex(Array(Insecure.MD5.hash(data: bytes)))
    }

    /// SQS answers the MD5 of each body it stored: a mismatch means the message was altered on the way.
    static func checkDigest(_ digest: String, of body: [UInt8], id: String) throws {
        let expected = md5Hex(body)
        guard digest.lowercased() == expected else {
            throw DeliveryFailure.transient("AWS sqs: message \(id) stored with MD5 \(digest), sent with \(expected)")
        }
    }
}
