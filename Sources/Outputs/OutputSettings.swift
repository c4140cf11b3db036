import Rules
import Settings

/// The settings every output has, read from the same YAML mapping as its own settings:
///
/// ```yaml
/// sink:
///   outputs:
///     - name: slack-security        # unique; the consumer group is auditpipe-sink-<name>
///       type: slack
///       minimum_priority: warning
///       custom_fields: {env: prod}
///       webhook_url: https://hooks.slack.com/services/...
/// ```
public struct OutputSettings: Decodable, Sendable {
    public var name: String
    public var type: String
    /// Alerts less severe than this are skipped by this output (and committed past: filtering is not loss).
    public var minimumPriority: Priority = .debug
    /// Static fields added to every alert's output_fields (falcosidekick's customfields).
    public var customFields: [String: String] = [:]
    /// Fields computed from each alert: `%field` placeholders are replaced by the alert's output_fields
    /// (falcosidekick's templatedfields, in Falco's own output syntax), e.g. `%ka.target.namespace/%ka.target.name`.
    public var templatedFields: [String: String] = [:]
    /// How long one delivery attempt may take.
    public var timeout = ConfigDuration(.seconds(10))
    public var tls = TLSSettings()
    public var retry = RetrySettings()
    public var batch = BatchSettings()
    /// Deliveries per second at most (nil: unlimited).
    public var rateLimit: Double?
    /// Alerts whose `id` was delivered within this window are skipped (absorbs the engine's at-least-once replays).
    public var dedupWindow = ConfigDuration(.seconds(600))

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }

    enum CodingKeys: String, CodingKey {
        case name, type, minimumPriority, customFields, templatedFields, timeout, tls, retry, batch, rateLimit, dedupWindow
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        type = try container.decode(String.self, forKey: .type)
        minimumPriority = try container.decodePriorityIfPresent(forKey: .minimumPriority) ?? minimumPriority
        customFields = try container.decodeIfPresent([String: String].self, forKey: .customFields) ?? [:]
        templatedFields = try container.decodeIfPresent([String: String].self, forKey: .templatedFields) ?? [:]
        for (field, text) in templatedFields.sorted(by: { $0.key < $1.key }) {
            do {
                _ = try FieldTemplate(parsing: text)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .templatedFields, in: container,
                                                       debugDescription: "templated field '\(field)': \(error)")
            }
        }
        timeout = try container.decodeIfPresent(ConfigDuration.self, forKey: .timeout) ?? timeout
        tls = try container.decodeIfPresent(TLSSettings.self, forKey: .tls) ?? tls
        retry = try container.decodeIfPresent(RetrySettings.self, forKey: .retry) ?? retry
        batch = try container.decodeIfPresent(BatchSettings.self, forKey: .batch) ?? batch
        rateLimit = try container.decodeIfPresent(Double.self, forKey: .rateLimit)
        if let rateLimit, !(rateLimit > 0) || !rateLimit.isFinite {
            throw DecodingError.dataCorruptedError(forKey: .rateLimit, in: container,
                                                   debugDescription: "rate_limit is deliveries per second and must be positive")
        }
        dedupWindow = try container.decodeIfPresent(ConfigDuration.self, forKey: .dedupWindow) ?? dedupWindow
    }
}

/// TLS towards a service: a private CA, a client certificate (mTLS), and skipping verification
/// only when explicitly asked.
public struct TLSSettings: Decodable, Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var insecureSkipVerify = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case caFile, certFile, keyFile, insecureSkipVerify
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        caFile = try container.decodeIfPresent(String.self, forKey: .caFile)
        certFile = try container.decodeIfPresent(String.self, forKey: .certFile)
        keyFile = try container.decodeIfPresent(String.self, forKey: .keyFile)
        insecureSkipVerify = try container.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
        if (certFile == nil) != (keyFile == nil) {
            throw DecodingError.dataCorruptedError(forKey: certFile == nil ? .keyFile : .certFile, in: container,
                                                   debugDescription: "a client certificate needs both cert_file and key_file")
        }
    }
}

/// Retries of transient failures: exponential backoff with jitter, up to a number of attempts.
public struct RetrySettings: Decodable, Sendable, Equatable {
    /// Attempts in all (the first one included) before the alert is dead-lettered.
    public var maxAttempts = 8
    public var initialBackoff = ConfigDuration(.milliseconds(500))
    public var maxBackoff = ConfigDuration(.seconds(30))

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxAttempts, initialBackoff, maxBackoff
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        maxAttempts = try container.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? maxAttempts
        guard maxAttempts >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .maxAttempts, in: container, debugDescription: "max_attempts must be at least 1")
        }
        initialBackoff = try container.decodeIfPresent(ConfigDuration.self, forKey: .initialBackoff) ?? initialBackoff
        maxBackoff = try container.decodeIfPresent(ConfigDuration.self, forKey: .maxBackoff) ?? maxBackoff
    }
}

/// Batching for services with batch APIs (Loki, Elasticsearch, InfluxDB, topics): a batch is sent
/// when it holds `max_size` alerts or its oldest alert waited `max_wait`.
public struct BatchSettings: Decodable, Sendable, Equatable {
    public var maxSize: Int?
    public var maxWait = ConfigDuration(.milliseconds(200))

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxSize, maxWait
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        maxSize = try container.decodeIfPresent(Int.self, forKey: .maxSize)
        if let maxSize, maxSize < 1 {
            throw DecodingError.dataCorruptedError(forKey: .maxSize, in: container, debugDescription: "max_size must be at least 1")
        }
        maxWait = try container.decodeIfPresent(ConfigDuration.self, forKey: .maxWait) ?? maxWait
    }
}

extension KeyedDecodingContainer {
    /// A priority by Falco's names (case-insensitive, "info" too), or an error that lists them.
    func decodePriorityIfPresent(forKey key: Key) throws -> Priority? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let priority = Priority(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "unknown priority '\(text)' (emergency, alert, critical, error, warning, notice, informational, debug)")
        }
        return priority
    }
}
