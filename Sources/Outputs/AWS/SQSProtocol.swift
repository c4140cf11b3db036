/// SQS's JSON protocol (`application/x-amz-json-1.0`): the members of SendMessage and
/// SendMessageBatch and of their answers, with SQS's names.

/// A message: SendMessage's members (with `queueURL`), or a SendMessageBatch entry (with `id`).
struct SQSMessage: Encodable {
    struct Attribute: Encodable, Equatable {
        let dataType = "String"
        let stringValue: String

        enum CodingKeys: String, CodingKey {
            case dataType = "DataType", stringValue = "StringValue"
        }
    }

    var queueURL: String?
    var id: String?
    var body: String
    var attributes: [String: Attribute]?
    /// FIFO queues only.
    var groupID: String?
    var deduplicationID: String?

    enum CodingKeys: String, CodingKey {
        case queueURL = "QueueUrl", id = "Id", body = "MessageBody", attributes = "MessageAttributes"
        case groupID = "MessageGroupId", deduplicationID = "MessageDeduplicationId"
    }
}

struct SQSSendMessageBatch: Encodable {
    let queueURL: String
    let entries: [SQSMessage]

    enum CodingKeys: String, CodingKey {
        case queueURL = "QueueUrl", entries = "Entries"
    }
}

struct SQSSendMessageResult: Decodable {
    let messageID: String
    let digest: String

    enum CodingKeys: String, CodingKey {
        case messageID = "MessageId", digest = "MD5OfMessageBody"
    }
}

struct SQSSendMessageBatchResult: Decodable {
    struct Success: Decodable {
        let id: String
        let messageID: String
        let digest: String

        enum CodingKeys: String, CodingKey {
            case id = "Id", messageID = "MessageId", digest = "MD5OfMessageBody"
        }
    }

    struct Failure: Decodable {
        let id: String
        let senderFault: Bool
        let code: String
        let message: String?

        enum CodingKeys: String, CodingKey {
            case id = "Id", senderFault = "SenderFault", code = "Code", message = "Message"
        }
    }

    let successful: [Success]
    let failed: [Failure]

    enum CodingKeys: String, CodingKey {
        case successful = "Successful", failed = "Failed"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        successful = try container.decodeIfPresent([Success].self, forKey: .successful) ?? []
        failed = try container.decodeIfPresent([Failure].self, forKey: .failed) ?? []
    }
}
