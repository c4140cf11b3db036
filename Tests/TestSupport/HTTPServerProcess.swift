import Foundation

/// A real server a test starts (a Debian package's daemon: Alertmanager, InfluxDB, …) on a free
/// loopback port, with its files in a temporary directory, ready once its health URL answers 2xx.
/// Stopped by `stop()` or, whatever happens, when the object goes away.
public final class HTTPServerProcess: Sendable {
    public struct DidNotStart: Error, CustomStringConvertible {
        public let description: String
    }

    public let port: Int
    public let process: ChildProcess
    /// The server's data and configuration files.
    public let directory: TemporaryDirectory

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, process: ChildProcess, directory: TemporaryDirectory) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    /// Starts `executable` (found on PATH, else a `MissingExecutable` telling to run `make deps`)
    /// with the arguments `arguments` gives for a free port and the temporary directory, and
    /// waits (bounded) until `GET <readinessPath>` answers 2xx. A port taken between choosing
    /// and binding it is retried with another.
    public static func start(_ executable: String, readinessPath: String, within limit: Duration = .seconds(60),
                             arguments: (_ port: Int, _ directory: TemporaryDirectory) throws -> [String]) async throws -> HTTPServerProcess {
        let path = try RequiredExecutable.path(executable)
        var output = ""
        for _ in 0..<3 {
            let directory = try TemporaryDirectory()
            let port = try FreePort.allocate()
            let process = try ChildProcess(path, try arguments(port, directory))
            let server = HTTPServerProcess(port: port, process: process, directory: directory)
            let ready = await eventually(within: limit, every: .milliseconds(100)) {
                guard process.isRunning else { return true }
                let status = try? await TestHTTPClient.request("GET", server.baseURL + readinessPath, timeout: .seconds(5)).status
                return status.map { (200..<300).contains($0) } ?? false
            }
            if ready, process.isRunning { return server }
            await process.stop()
            output = process.stderr + process.stdout
            if !output.contains("address already in use") { break }
        }
        throw DidNotStart(description: "\(executable) did not start:\n\(output.suffix(4000))")
    }

    public func stop() async {
        await process.stop()
    }
}
