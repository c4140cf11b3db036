import Foundation
import Settings
import Kafka
import Outputs
import Pipeline
import Testing

/// The configuration file: one schema, strict about unknown keys, errors with FILE:LINE:COL.
@Suite struct ConfigTests {
    static func decode(_ yaml: String) throws -> AuditpipeConfig {
        try ConfigDecoder.decode(AuditpipeConfig.self, yaml: yaml, file: "auditpipe.yaml")
    }

    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try decode(yaml)
            return []
        } catch let errors as ConfigErrors {
            return errors.errors.map(\.description)
        } catch {
            return ["unexpected: \(error)"]
        }
    }

    @Test func anEmptyFileGivesTheDefaults() throws {
        let config = try Self.decode("")
        #expect(config.kafka.brokers == "")
        #expect(config.topics == PipelineTopics())
        #expect(config.ingress.listen == ListenAddress(host: "0.0.0.0", port: 8765))
        #expect(config.logLevel == "info")
    }

    @Test func snakeCaseKeysFillCamelCaseSettingsAndDictionariesKeepTheirKeys() throws {
        let config = try Self.decode("""
            log_level: debug
            kafka:
              brokers: 10.0.0.1:9092,10.0.0.2:9092
              settings:
                linger.ms: 10
                security.protocol: SASL_SSL
            topics:
              raw: prod.raw
              dead_letters: prod.dlq
            engine:
              rules: [a.yaml, b.yaml]
              metrics_listen: 127.0.0.1:9999
            """)
        #expect(config.logLevel == "debug")
        #expect(config.kafka.brokers == "10.0.0.1:9092,10.0.0.2:9092")
        #expect(config.kafka.settings == ["linger.ms": "10", "security.protocol": "SASL_SSL"])
        #expect(config.kafka.clientConfiguration["bootstrap.servers"] == "10.0.0.1:9092,10.0.0.2:9092")
        #expect(config.topics.raw == "prod.raw")
        #expect(config.topics.alerts == "k8s-audit.alerts")
        #expect(config.topics.deadLetters == "prod.dlq")
        #expect(config.engine.rules == ["a.yaml", "b.yaml"])
        #expect(config.engine.metricsListen == ListenAddress(host: "127.0.0.1", port: 9999))
    }

    @Test func everyUnknownKeyIsReportedWithItsLineAndSection() {
        let errors = Self.errors("""
            kafka:
              brokers: x:1
              bootstrap: y:2
            ingress:
              linsten: 0.0.0.0:1
            color: blue
            """)
        #expect(errors == [
            "auditpipe.yaml:3:3: unknown key 'bootstrap' in kafka",
            "auditpipe.yaml:5:3: unknown key 'linsten' in ingress",
            "auditpipe.yaml:6:1: unknown key 'color' at the top level",
        ])
    }

    @Test func wrongTypesAndBadValuesSayWhatWasExpectedWhere() {
        #expect(Self.errors("kafka: [a, b]\n") == ["auditpipe.yaml:1:8: kafka: expected a mapping (key: value), found a list"])
        #expect(Self.errors("ingress:\n  listen: nowhere\n")
            == ["auditpipe.yaml:2:11: ingress.listen: 'nowhere' is not host:port (example: 0.0.0.0:8765)"])
        #expect(Self.errors("engine:\n  rules: {a: 1}\n") == ["auditpipe.yaml:2:10: engine.rules: expected a list, found a mapping"])
    }

    @Test func brokenYAMLIsReportedWithItsPosition() {
        let errors = Self.errors("kafka:\n  brokers: [unclosed\n")
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("auditpipe.yaml:") == true)
        #expect(errors.first?.contains("invalid YAML") == true)
    }

    @Test(arguments: [("250ms", Duration.milliseconds(250)), ("5s", .seconds(5)), ("1.5s", .milliseconds(1500)),
                      ("2m", .seconds(120)), ("1h", .seconds(3600)), ("7d", .seconds(7 * 86400)), ("30", .seconds(30))])
    func durations(_ text: String, _ expected: Duration) {
        #expect(ConfigDuration.parse(text) == expected)
    }

    @Test func badDurationsAndSizesAreRefused() {
        #expect(ConfigDuration.parse("soon") == nil)
        #expect(ConfigDuration.parse("-5s") == nil)
        #expect(ByteSize.parse("lots") == nil)
    }

    @Test(arguments: [("65536", 65536), ("512KiB", 512 * 1024), ("64MiB", 64 << 20), ("1GB", 1_000_000_000), ("3 MB", 3_000_000)])
    func sizes(_ text: String, _ expected: Int) {
        #expect(ByteSize.parse(text) == expected)
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(parsing: "[::1]:8765") == ListenAddress(host: "::1", port: 8765))
        #expect(ListenAddress(parsing: "127.0.0.1:0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(ListenAddress(parsing: ":80") == nil)
        #expect(ListenAddress(parsing: "host:99999") == nil)
    }
}

/// Outputs: common settings and each type's own, read from one mapping.
@Suite struct OutputConfigTests {
    @Test func anOutputReadsItsCommonAndItsOwnSettings() throws {
        let config = try ConfigTests.decode("""
            sink:
              outputs:
                - name: console
                  type: stdout
                  format: json
                  minimum_priority: warning
                  custom_fields: {env: prod}
                  retry: {max_attempts: 3, initial_backoff: 100ms}
            """)
        let output = try #require(config.sink.outputs.first)
        #expect(output.common.name == "console")
        #expect(output.common.minimumPriority == .warning)
        #expect(output.common.customFields == ["env": "prod"])
        #expect(output.common.retry.maxAttempts == 3)
        #expect(output.common.retry.initialBackoff == ConfigDuration(.milliseconds(100)))
        #expect((output.configuration as? StdoutOutput.Configuration)?.format == .json)
    }

    @Test func unknownTypesAndKeysAreErrorsThatNameThem() {
        #expect(ConfigTests.errors("sink:\n  outputs:\n    - {name: a, type: carrier-pigeon}\n")
            == ["auditpipe.yaml:3:23: sink.outputs[0].type: unknown output type 'carrier-pigeon' (known: \(OutputTypes.byName.keys.sorted().joined(separator: ", ")))"])
        #expect(ConfigTests.errors("sink:\n  outputs:\n    - name: a\n      type: stdout\n      fromat: json\n")
            == ["auditpipe.yaml:5:7: unknown key 'fromat' in sink.outputs[0]"])
        #expect(ConfigTests.errors("sink:\n  outputs:\n    - {name: a, type: stdout, minimum_priority: loud}\n")
            == ["auditpipe.yaml:3:49: sink.outputs[0].minimum_priority: unknown priority 'loud' (emergency, alert, critical, error, warning, notice, informational, debug)"])
    }
}
