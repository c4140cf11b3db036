import Foundation
import TestSupport

/// moto's server (PyPI `moto[server]`) on a free loopback port, for one test, with the
/// resources of Resources/aws_fixture.py: a user whose signed requests moto checks, two
/// queues and a Lambda function. moto records every request it serves (its recorder), so a
/// test can see exactly what reached it.
final class MotoServerProcess: @unchecked Sendable {
    struct Resources: Decodable {
        let accessKeyId: String
        let secretAccessKey: String
        let queueUrl: String
        let fifoQueueUrl: String
        let functionArn: String

        enum CodingKeys: String, CodingKey {
            case accessKeyId = "access_key_id", secretAccessKey = "secret_access_key", queueUrl = "queue_url"
            case fifoQueueUrl = "fifo_queue_url", functionArn = "function_arn"
        }
    }

    /// A message as boto3 received it.
    struct ReceivedMessage: Decodable {
        let body: String
        let attributes: [String: String]
        let groupId: String?
        let deduplicationId: String?

        enum CodingKeys: String, CodingKey {
            case body, attributes, groupId = "group_id", deduplicationId = "deduplication_id"
        }
    }

    /// A request moto served, from its recording.
    struct RecordedRequest: Decodable {
        let headers: [String: String]
        let method: String
        let url: String
        let body: String?
        let bodyEncoded: Bool?

        enum CodingKeys: String, CodingKey {
            case headers, method, url, body, bodyEncoded = "body_encoded"
        }

        var bodyBytes: [UInt8] {
            guard let body else { return [] }
            return bodyEncoded == true ? Array(Data(base64Encoded: body) ?? Data()) : Array(body.utf8)
        }

        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    let port: Int
    let resources: Resources
    private let process: ChildProcess
    private let directory: TemporaryDirectory
    private let python: String

    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, resources: Resources, process: ChildProcess, directory: TemporaryDirectory, python: String) {
        self.port = port
        self.resources = resources
        self.process = process
        self.directory = directory
        self.python = python
    }

    static func start() async throws -> MotoServerProcess {
        let python = try await RequiredExecutable.python(withModules: ["moto.server", "boto3"])
        let directory = try TemporaryDirectory()
        let port = try FreePort.allocate()
        let environment = ["MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": directory.file("recording.jsonl"),
                           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"]
        let process: ChildProcess
        if let server = ChildProcess.which("moto_server") {
            process = try ChildProcess(server, ["-H", "127.0.0.1", "-p", String(port)], environment: environment)
        } else {
            process = try ChildProcess(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], environment: environment)
        }
        guard await process.waitForOutput(containing: "Running on", within: .seconds(120)) else {
            await process.stop()
            throw ServerDidNotStart(output: process.stderr + process.stdout)
        }
        let output = try await AWSFixtureScript.run(python, ["setup", "http://127.0.0.1:\(port)"])
        let resources = try JSONDecoder().decode(Resources.self, from: Data(output.utf8))
        return MotoServerProcess(port: port, resources: resources, process: process, directory: directory, python: python)
    }

    /// Receives (and deletes) messages of a queue with boto3 until `count` arrived or 20 s passed.
    func receive(_ queueURL: String, count: Int) async throws -> [ReceivedMessage] {
        let output = try await AWSFixtureScript.run(python, ["receive", endpoint, resources.accessKeyId, resources.secretAccessKey,
                                                        queueURL, String(count)])
        return try JSONDecoder().decode([ReceivedMessage].self, from: Data(output.utf8))
    }

    /// Every request moto served since it started, setup included.
    func recordedRequests() throws -> [RecordedRequest] {
        let text = (try? String(contentsOfFile: directory.file("recording.jsonl"), encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONDecoder().decode(RecordedRequest.self, from: Data($0.utf8)) }
    }

    func stop() async {
        await process.stop()
    }

    struct ServerDidNotStart: Error, CustomStringConvertible {
        let output: String
        var description: String { "moto_server did not start:\n\(output)" }
    }

}

/// Resources/aws_fixture.py, run with boto3/botocore: setup and reading of moto's resources,
/// and botocore's signature of a request.
enum AWSFixtureScript {
    static let path = RepositoryPaths.packageRoot.appendingPathComponent("Tests/OutputsTests/Resources/aws_fixture.py").path

    /// Runs the script to its end (bounded) and returns what it printed.
    static func run(_ python: String, _ arguments: [String]) async throws -> String {
        let run = try ChildProcess(python, [path] + arguments)
        guard await eventually(within: .seconds(60), { !run.isRunning }) else {
            await run.stop()
            throw Failed(output: "timed out: " + run.stderr)
        }
        // The pipes' readers may deliver the last bytes just after the exit.
        _ = await eventually(within: .seconds(5)) { run.stdout.hasSuffix("\n") }
        await run.stop()
        guard run.process.terminationStatus == 0 else { throw Failed(output: run.stderr + run.stdout) }
        return run.stdout
    }

    /// The signature botocore computes for `request` as the receiver got it (see the script).
    static func botocoreSignature(of request: ReceivedRequest, url: String, secret: String, region: String,
                                  service: String) async throws -> (signature: String, canonicalRequest: String) {
        let python = try await RequiredExecutable.python(withModules: ["botocore"])
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name] = value }
        let sent: [String: Any] = ["method": request.method, "url": url, "headers": headers,
                                   "body": Data(request.body).base64EncodedString(), "secret": secret, "region": region, "service": service]
        let argument = String(decoding: try JSONSerialization.data(withJSONObject: sent), as: UTF8.self)
        let output = try await run(python, ["signature", argument])
        let answer = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String]
        return (answer?["signature"] ?? "", answer?["canonical_request"] ?? "")
    }

    struct Failed: Error, CustomStringConvertible {
        let output: String
        var description: String { "aws_fixture.py failed:\n\(output)" }
    }
}
