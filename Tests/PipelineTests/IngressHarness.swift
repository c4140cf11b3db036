import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Pipeline
import ServiceLifecycle
import Synchronization
import Settings
import TestSupport
import Testing
import Workload

/// An ingress on a loopback port in front of a dev cluster, and an HTTP client to post to it, for one test.
/// `stop()` shuts it down gracefully, as SIGTERM would.
final class IngressHarness: @unchecked Sendable {
    let cluster: TestCluster
    let metrics = PipelineMetrics()
    let server: IngressServer
    let client: HTTPClient
    let port: Int
    let scheme: String
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    /// Set once the client is shut down: a client dropped without shutdown would stop the test process.
    private let clientShutDown = Atomic<Bool>(false)

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let text: String
    }

    init(cluster: TestCluster, settings: IngressSettings = IngressHarness.settings(),
         kafkaSettings: [String: String] = [:], clientTLS: TLSConfiguration? = nil) async throws {
        self.cluster = cluster
        var logger = Logger(label: "ingress-test")
        logger.logLevel = .warning
        server = try IngressServer(settings: settings,
                                   kafka: KafkaSettings(brokers: cluster.bootstrapServers, settings: kafkaSettings),
                                   topics: cluster.topics, metrics: metrics, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        self.group = group
        running = Task { try await group.run() }
        port = try #require(await server.port())
        scheme = settings.tls == nil ? "http" : "https"
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = clientTLS
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Settings for tests: loopback, an ephemeral port, a produce timeout long enough for a first produce on a
    /// loaded machine (tests of the timeout set their own), and whatever the test changes.
    static func settings(_ change: (inout IngressSettings) -> Void = { _ in }) -> IngressSettings {
        var settings = IngressSettings()
        settings.listen = ListenAddress(host: "127.0.0.1", port: 0)
        settings.produceTimeout = ConfigDuration(.seconds(30))
        change(&settings)
        return settings
    }

    func post(_ path: String = "/k8s-audit", body: [UInt8], headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await send(request)
    }

    func get(_ path: String) async throws -> Reply {
        try await send(HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(port)\(path)"))
    }

    private func send(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: body))
    }

    /// Posts one event until it is accepted (bounded): the producer has met the cluster (metadata, producer id)
    /// before a test takes Kafka away. On a loaded machine the very first produce can exceed a short timeout.
    func warmUp() async throws {
        let accepted = try await eventually(within: .seconds(60), every: .milliseconds(200)) {
            try await post(body: AuditBodies.event(id: "warm-up-\(UUID().uuidString)")).status == 200
        }
        #expect(accepted, "the ingress never accepted a first event")
    }

    /// The value of one Prometheus sample (`name{labels}`), or nil when it is not exposed.
    func metric(_ sample: String) async throws -> Double? {
        let text = try await get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    /// Whether a TCP connection to the ingress's port is accepted now.
    func acceptsConnections() -> Bool {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { return false }
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A test that failed before `stop()` still shuts the client and the server down.
    deinit {
        if !clientShutDown.exchange(true, ordering: .acquiringAndReleasing) {
            client.shutdown().whenComplete { _ in }
        }
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
    }

    /// Graceful shutdown, and the client's; waits (bounded) until the server has stopped.
    func stop() async throws {
        try await shutDownClient()
        try await stopServer()
    }

    func shutDownClient() async throws {
        guard !clientShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await client.shutdown()
    }

    /// Graceful shutdown of the server alone (the client stays usable); waits (bounded) until it has stopped.
    func stopServer() async throws {
        await group.triggerGracefulShutdown()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.running.value }
            tasks.addTask {
                try await Task.sleep(for: .seconds(30))
                throw CancellationError()
            }
            try await tasks.next()
            tasks.cancelAll()
        }
    }
}

/// Audit events and EventLists for ingress tests, with what the ingress should make of them.
enum AuditBodies {
    /// Realistic events (the benchmark's generator), each with a unique auditID.
    static func events(_ count: Int, seed: UInt64 = 1) -> [[UInt8]] {
        var generator = CorpusGenerator(seed: seed)
        return generator.events(count)
    }

    /// An EventList of these items, written the way the apiserver writes it.
    static func eventList(_ items: [[UInt8]]) -> [UInt8] {
        var body = Array(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += item
        }
        body += Array("]}".utf8)
        return body
    }

    /// A small hand-written event in a namespace (nil: cluster-scoped).
    static func event(id: String, namespace: String? = "default", extra: String = "") -> [UInt8] {
        let objectRef = namespace.map { #"{"resource":"pods","namespace":"\#($0)","name":"p","apiVersion":"v1"}"# }
            ?? #"{"resource":"nodes","name":"n1","apiVersion":"v1"}"#
        return Array(#"""
            {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"\#(id)","stage":"ResponseComplete",\#
            "requestURI":"/api/v1/x","verb":"get","user":{"username":"alice"},"sourceIPs":["10.0.0.1"],\#
            "objectRef":\#(objectRef),"responseStatus":{"code":200},\#(extra)\#
            "requestReceivedTimestamp":"2026-11-26T10:00:00.000000Z","stageTimestamp":"2026-11-26T10:00:00.001000Z"}
            """#.utf8)
    }

    /// The key DESIGN.md asks for, computed independently of the ingress (Foundation's JSON parser).
    static func expectedKey(cluster: String, event: [UInt8]) -> String {
        let object = (try? JSONSerialization.jsonObject(with: Data(event))) as? [String: Any]
        let namespace = (object?["objectRef"] as? [String: Any])?["namespace"] as? String ?? ""
        return "\(cluster)/\(namespace)"
    }

    static func auditID(_ event: [UInt8]) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(event))) as? [String: Any])?["auditID"] as? String
    }

    /// gzip of `bytes`, made by the system's gzip command (an independent encoder).
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = try TemporaryDirectory()
        let path = directory.file("body")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }
}
