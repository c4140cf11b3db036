import Foundation
import NIOPosix
@testable import Outputs
import Settings
import TestSupport

/// A real nats-server (Debian's `nats-server`) on a free loopback port, for one test.
final class NATSServerProcess: @unchecked Sendable {
    let port: Int
    let process: ChildProcess
    private let directory: TemporaryDirectory

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Seconds a client may take from connecting to authenticating or to finishing its TLS
    /// handshake (the server's defaults, 2 s and 0.5 s, are too short on a loaded test machine).
    static let authTimeout = 30

    private init(port: Int, process: ChildProcess, directory: TemporaryDirectory) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    /// Starts the server with `arguments` added to its command line and `configuration` (the
    /// server's own config syntax) as its config file.
    static func start(_ arguments: [String] = [], configuration: String? = nil, port: Int? = nil) async throws -> NATSServerProcess {
        let executable = try RequiredExecutable.path("nats-server")
        let directory = try TemporaryDirectory()
        let port = try port ?? FreePort.allocate()
        var commandLine = ["-a", "127.0.0.1", "-p", String(port)]
        if let configuration {
            commandLine += ["-c", try directory.write("nats.conf", configuration)]
        }
        let process = try ChildProcess(executable, commandLine + arguments)
        let server = NATSServerProcess(port: port, process: process, directory: directory)
        guard await process.waitForOutput(containing: "Server is ready", within: .seconds(60)) else {
            await process.stop()
            throw ServerDidNotStart(output: process.stderr + process.stdout)
        }
        return server
    }

    func stop() async {
        await process.stop()
    }

    /// A subscriber of our own client on `subject`, connected before anything is published.
    func subscribe(_ subject: String, auth: NATSAuth = .none) async throws -> (NATSConnection, AsyncStream<NATSMessage>) {
        let options = try NATSConnectionOptions(name: "test-subscriber", auth: auth, tls: TLSSettings(), output: "test-subscriber", timeout: .seconds(30),
                                            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let connection = try await NATSConnection.connect(to: NATSServerAddress(host: "127.0.0.1", port: port), options: options)
        return (connection, try await connection.subscribe(to: subject, timeout: .seconds(30)))
    }

    struct ServerDidNotStart: Error, CustomStringConvertible {
        let output: String
        var description: String { "nats-server did not start:\n\(output)" }
    }
}

/// The first `count` elements of `stream`, or as many as arrived within `limit`.
func first<Element: Sendable>(_ count: Int, of stream: AsyncStream<Element>, within limit: Duration = .seconds(60)) async -> [Element] {
    let collected = Collected<Element>()
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            for await element in stream {
                if collected.append(element) >= count { return }
            }
        }
        group.addTask { try? await Task.sleep(for: limit) }
        await group.next()
        group.cancelAll()
    }
    return collected.elements
}

private final class Collected<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []

    func append(_ element: Element) -> Int {
        lock.withLock {
            storage.append(element)
            return storage.count
        }
    }

    var elements: [Element] { lock.withLock { storage } }
}
