import CRdKafka

/// A librdkafka error, with its name (`_QUEUE_FULL`, `_MSG_TIMED_OUT`, …) and what it means.
public struct KafkaError: Error, Sendable, CustomStringConvertible, Equatable {
    public let code: Int32
    public let message: String

    public init(code: Int32, context: String? = nil) {
        self.code = code
        let reason = String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(code)))
        message = context.map { "\($0): \(reason)" } ?? reason
    }

    /// An error with a message of its own (a broker's explanation, say) instead of librdkafka's text for the code.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public init(configuration message: String) {
        code = Int32(RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        self.message = message
    }

    /// librdkafka's name of the error, such as `_QUEUE_FULL`.
    public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(code))) }

    /// The producer's local queue is full: back off and retry (callers turn this into backpressure).
    public var isQueueFull: Bool { code == Int32(RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue) }

    /// The message could not be delivered in time (broker down or too slow).
    public var isTimeout: Bool {
        code == Int32(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue) || code == Int32(RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
    }

    /// librdkafka cannot go on (an idempotent producer lost its guarantees): the client must be recreated.
    public var isFatal: Bool { code == Int32(RD_KAFKA_RESP_ERR__FATAL.rawValue) }

    /// Kafka refuses this record whatever the retries (too large, invalid): retrying cannot help, unlike a
    /// timeout or a broker away, which the caller retries.
    public var isPermanentForRecord: Bool {
        [RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG,
         RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
         RD_KAFKA_RESP_ERR__BAD_MSG, RD_KAFKA_RESP_ERR__INVALID_ARG]
            .contains { Int32($0.rawValue) == code }
    }

    public var description: String { "\(message) (\(name))" }
}
