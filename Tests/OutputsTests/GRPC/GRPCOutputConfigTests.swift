import Outputs
import Settings
import Testing

/// The grpc output's settings, read from a sink's `outputs:` list.
@Suite struct GRPCOutputConfigTests {
    static func decode(_ yaml: String) throws -> (OutputSettings, GRPCOutput.Configuration) {
        let definitions = try ConfigDecoder.decode([OutputDefinition].self, yaml: yaml, file: "sink.yaml")
        let definition = try #require(definitions.first)
        return (definition.common, try #require(definition.configuration as? GRPCOutput.Configuration))
    }

    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try ConfigDecoder.decode([OutputDefinition].self, yaml: yaml, file: "sink.yaml")
            return []
        } catch let errors as ConfigErrors {
            return errors.errors.map(\.description)
        } catch {
            return ["unexpected: \(error)"]
        }
    }

    @Test func defaultsAreFalcosPortAndBoundedQueues() throws {
        let (common, configuration) = try Self.decode("- {name: falco, type: grpc}\n")
        #expect(common.type == "grpc")
        #expect(configuration.listen == .tcp(ListenAddress(host: "0.0.0.0", port: 5060)))
        #expect(configuration.backlog == 10_000)
        #expect(configuration.subscriberBuffer == 10_000)
        #expect(configuration.whenBacklogFull == .dropOldest)
        #expect(common.tls == TLSSettings())
    }

    @Test func everySettingIsRead() throws {
        let (common, configuration) = try Self.decode("""
            - name: falco-grpc
              type: grpc
              minimum_priority: warning
              listen: unix:///run/auditpipe/falco.sock
              backlog: 500
              subscriber_buffer: 2000
              when_backlog_full: reject
              tls:
                cert_file: /etc/auditpipe/server.crt
                key_file: /etc/auditpipe/server.key
                ca_file: /etc/auditpipe/ca.crt
            """)
        #expect(common.minimumPriority == .warning)
        #expect(configuration.listen == .unix(path: "/run/auditpipe/falco.sock"))
        #expect(configuration.backlog == 500)
        #expect(configuration.subscriberBuffer == 2000)
        #expect(configuration.whenBacklogFull == .reject)
        #expect(common.tls.certFile == "/etc/auditpipe/server.crt")
        #expect(common.tls.keyFile == "/etc/auditpipe/server.key")
        #expect(common.tls.caFile == "/etc/auditpipe/ca.crt")
        let (_, ipv6) = try Self.decode("- {name: falco, type: grpc, listen: '[::1]:5060'}\n")
        #expect(ipv6.listen == .tcp(ListenAddress(host: "::1", port: 5060)))
    }

    @Test func badValuesAreReportedWhereTheyAreWritten() {
        #expect(Self.errors("- {name: g, type: grpc, listen: nowhere}\n")
            == ["sink.yaml:1:33: [0].listen: 'nowhere' is neither host:port nor unix:///path (examples: 0.0.0.0:5060, unix:///run/auditpipe/falco.sock)"])
        #expect(Self.errors("- {name: g, type: grpc, listen: 'unix://relative.sock'}\n").first?
            .hasPrefix("sink.yaml:1:33: [0].listen: 'unix://relative.sock' is neither") == true)
        #expect(Self.errors("- {name: g, type: grpc, subscriber_buffer: 0}\n")
            == ["sink.yaml:1:44: [0].subscriber_buffer: subscriber_buffer must be at least 1 alert"])
        #expect(Self.errors("- {name: g, type: grpc, backlog: -1}\n")
            == ["sink.yaml:1:34: [0].backlog: backlog must be 0 or more alerts"])
        #expect(Self.errors("- {name: g, type: grpc, when_backlog_full: block}\n").count == 1)
        #expect(Self.errors("- {name: g, type: grpc, backlogg: 5}\n") == ["sink.yaml:1:25: unknown key 'backlogg' in [0]"])
    }

    @Test func tlsSettingsOnlyAClientCanUseAreRefused() {
        #expect(Self.errors("""
            - name: g
              type: grpc
              tls: {cert_file: s.crt, key_file: s.key, insecure_skip_verify: true}
            """) == ["sink.yaml:3:8: [0].tls: insecure_skip_verify does not apply to the grpc output: it is a server (cert_file and key_file are its certificate, ca_file verifies clients)"])
        #expect(Self.errors("""
            - name: g
              type: grpc
              tls: {ca_file: ca.crt}
            """) == ["sink.yaml:3:8: [0].tls: ca_file (verifying clients) needs cert_file and key_file, the server's certificate"])
    }
}
