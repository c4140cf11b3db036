import Kafka
import Logging

/// Writes what an output gave up on to the dead-letter topic (DESIGN.md: value the alert as it
/// was read, key the alert's key, headers `output`, `error`, `attempts`). A dead letter must not
/// be lost either: a failed write is retried until Kafka takes it (or the sink stops, and the
/// alert, never committed, is read again on restart).
public struct DeadLetterWriter: Sendable {
    public let producer: KafkaProducer
    public let topic: String
    private let logger: Logger

    public init(producer: KafkaProducer, topic: String, logger: Logger) {
        self.producer = producer
        self.topic = topic
        self.logger = logger
    }

    public struct Letter: Sendable {
        public var value: [UInt8]
        public var key: [UInt8]?
        public var output: String
        public var error: String
        /// Delivery attempts made (0 for a message that was not an alert at all).
        public var attempts: Int

        public init(value: [UInt8], key: [UInt8]?, output: String, error: String, attempts: Int) {
            self.value = value
            self.key = key
            self.output = output
            self.error = error
            self.attempts = attempts
        }
    }

    /// Returns once every letter is stored, or false if `stop` ended the wait first.
    public func write(_ letters: [Letter], stop: StopSignal) async -> Bool {
        guard !letters.isEmpty else { return true }
        var pending = letters.map { letter in
            KafkaRecord(topic: topic, key: letter.key, value: letter.value, headers: [
                KafkaHeader("output", letter.output),
                KafkaHeader("error", letter.error),
                KafkaHeader("attempts", String(letter.attempts)),
            ])
        }
        let backoff = RetryBackoff(initial: .milliseconds(200), maximum: .seconds(10))
        var retry = 0
        while true {
            let results = await producer.send(pending)
            var failed: [KafkaRecord] = []
            var lastError: KafkaError?
            for (record, result) in zip(pending, results) {
                if case .failure(let error) = result {
                    failed.append(record)
                    lastError = error
                }
            }
            guard let lastError else { return true }
            pending = failed
            retry += 1
            logger.error("cannot write to the dead-letter topic; retrying", metadata: [
                "topic": "\(topic)", "letters": "\(pending.count)", "error": "\(lastError)",
            ])
            guard await stop.sleep(for: backoff.delay(retry: retry, retryAfter: nil)) else { return false }
        }
    }
}
