import CRdKafka

/// librdkafka settings by their own names (`bootstrap.servers`, `linger.ms`, …):
/// every setting is reachable, and a wrong one is an error that names it.
public struct KafkaConfiguration: Sendable {
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    public init(bootstrapServers: String, _ properties: [String: String] = [:]) {
        self.properties = properties
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// A librdkafka configuration object; the caller owns it (rd_kafka_new takes it over).
    func makeNative() throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError(configuration: "librdkafka: out of memory") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(configuration: "kafka setting '\(key)': \(reason)")
            }
        }
        return conf
    }

    /// A client from a configuration object (which it takes over, or destroys on failure).
    static func createClient(_ type: rd_kafka_type_t, _ conf: OpaquePointer, what: String) throws -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(configuration: "cannot create \(what): \(reason)")
        }
        return handle
    }
}
