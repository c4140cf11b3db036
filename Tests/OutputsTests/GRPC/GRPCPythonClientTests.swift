import Foundation
import Outputs
import Settings
import Testing
import TestSupport

/// The grpc output against a Python client generated with PyPI's grpcio-tools from the same proto
/// files: a different gRPC implementation (grpc core), as Falco's own Python and Go clients use.
@Suite struct GRPCPythonClientTests {
    let environment = GRPCTestEnvironment()

    /// One run of Tests/OutputsTests/Resources/falco_grpc_client.py.
    struct PythonClient {
        let process: ChildProcess
        let workDirectory: TemporaryDirectory

        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources/falco_grpc_client.py").path
        static let protoDirectory = RepositoryPaths.packageRoot.appendingPathComponent("proto/falco").path

        init(_ address: GRPCListenAddress, mode: String, count: Int = 0, certificates: TestCertificates? = nil,
             clientCertificate: Bool = true, failFast: Bool = false) throws {
            workDirectory = try TemporaryDirectory()
            var arguments = [Self.script, "--proto-dir", Self.protoDirectory, "--work-dir", workDirectory.path,
                             "--target", address.description, "--mode", mode, "--count", "\(count)",
                             "--timeout", "\(grpcPatience.components.seconds)"]
            if failFast { arguments.append("--fail-fast") }
            if let certificates {
                arguments += ["--ca", certificates.caFile]
                if clientCertificate { arguments += ["--cert", certificates.clientCertFile, "--key", certificates.clientKeyFile] }
            }
            let python = try #require(ChildProcess.which("python3"), "python3 is needed (make deps)")
            process = try ChildProcess(python, arguments)
        }

        /// Waits (bounded) for the script to end; returns the alerts it printed and its last line.
        func finish(within limit: Duration = grpcPatience) async throws -> (alerts: [[String: Any]], end: String) {
            let exited = await eventually(within: limit) { !process.isRunning }
            let lines = process.stdout.split(separator: "\n").map(String.init)
            try #require(exited, "the Python client did not finish: \(process.stdout) \(process.stderr)")
            let alerts = try lines.filter { $0.hasPrefix("{") }.map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            return (alerts, lines.last(where: { $0.hasPrefix("END") }) ?? "no END line; stderr: \(process.stderr)")
        }
    }

    @Test func pythonSubReceivesEveryFieldWithFalcosEnumNames() async throws {
        let output = try environment.output()
        let client = try PythonClient(output.address, mode: "sub", count: 8)
        try #require(await eventually(within: grpcPatience) { output.subscriberCount == 1 }, "\(client.process.stderr)")
        try await output.deliver(try GRPCTestAlerts.alerts())
        let (alerts, end) = try await client.finish()
        await output.shutdown()

        #expect(end == "END OK")
        try #require(alerts.count == 8)
        let names = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"]
        #expect(alerts.map { $0["priority"] as? String } == names.map { $0.uppercased() })
        #expect(alerts.map { $0["priority_number"] as? Int } == Array(0...7))
        for (alert, name) in zip(alerts, names) {
            #expect(alert["rule"] as? String == "Pod created (\(name))")
            #expect(alert["seconds"] as? Int == 1_795_687_200)
            #expect(alert["nanos"] as? Int == 123_456_789)
            #expect(alert["source"] as? String == "k8s_audit")
            #expect(alert["source_deprecated"] as? String == "K8S_AUDIT")
            #expect(alert["hostname"] as? String == "node-7")
            #expect(alert["tags"] as? [String] == ["k8s", name.lowercased()].sorted())
            #expect(alert["output"] as? String == "10:00:00.123456789: \(name) pod web/api-1 by alice images=(nginx:1.27,redis:7) as=<NA>")
            #expect(alert["output_fields"] as? [String: String] == GRPCTestAlerts.outputFields)
        }
        #expect(output.subscriberCount == 0, "the client's cancel ended its subscription")
    }

    @Test func pythonGetOverAUnixSocketAsFalcosClientsConnect() async throws {
        let directory = try TemporaryDirectory()
        let output = try environment.output(listen: "unix://\(directory.file("falco.sock"))")
        try await output.deliver(try GRPCTestAlerts.numbered(20))
        let (alerts, end) = try await PythonClient(output.address, mode: "get").finish()
        await output.shutdown()
        #expect(end == "END OK")
        #expect(alerts.compactMap { ($0["output_fields"] as? [String: String])?["ka.target.name"] } == (0..<20).map { "alert-\($0)" })
    }

    @Test func pythonClientsNeedACertificateFromTheCAUnderMutualTLS() async throws {
        let certificates = try TestCertificates()
        let output = try environment.output(tls: certificates.serverTLS(mutual: true))
        try await output.deliver(try GRPCTestAlerts.numbered(3))

        let refused = try await PythonClient(output.address, mode: "get", certificates: certificates, clientCertificate: false,
                                                failFast: true).finish()
        #expect(refused.end.hasPrefix("END UNAVAILABLE"), "\(refused.end)")
        #expect(refused.alerts.isEmpty)
        #expect(output.backlogCount == 3)

        let (alerts, end) = try await PythonClient(output.address, mode: "get", certificates: certificates).finish()
        await output.shutdown()
        #expect(end == "END OK")
        #expect(alerts.count == 3)
    }
}
