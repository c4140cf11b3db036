import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Bearer tokens and the cluster each speaks for, from a file of `TOKEN CLUSTER` lines (`#` starts a comment,
/// blank lines are skipped). Run as a service, it re-reads the file when it changes (checked every second), so
/// tokens are added and revoked without a restart; a file that no longer parses keeps the last good tokens and
/// is reported (logged and counted).
final class TokenFile: Service, Sendable {
    let path: String
    private let logger: Logger
    private let onReloadFailure: @Sendable () -> Void
    private let checkEvery: Duration
    private let state: Mutex<State>

    private struct State {
        var clusters: [String: String]
        var stamp: FileStamp?
    }

    /// Reads the file; a missing or malformed file is an error here (the ingress does not start without it).
    init(path: String, logger: Logger, checkEvery: Duration = .seconds(1),
         onReloadFailure: @escaping @Sendable () -> Void = {}) throws {
        self.path = path
        self.logger = logger
        self.checkEvery = checkEvery
        self.onReloadFailure = onReloadFailure
        let stamp = FileStamp(path: path)
        let clusters = try Self.parse(path: path)
        state = Mutex(State(clusters: clusters, stamp: stamp))
    }

    /// The cluster a token speaks for, or nil for an unknown token.
    func cluster(for token: String) -> String? {
        state.withLock { $0.clusters[token] }
    }

    /// Watches the file until graceful shutdown.
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: self.checkEvery)
                self.reload()
            }
        }
    }

    /// Re-reads the file if its size, modification time or inode changed since the last read.
    func reload() {
        let stamp = FileStamp(path: path)
        guard stamp != state.withLock({ $0.stamp }) else { return }
        do {
            let clusters = try Self.parse(path: path)
            state.withLock {
                $0.clusters = clusters
                $0.stamp = stamp
            }
            logger.info("tokens file reloaded", metadata: ["file": "\(path)", "tokens": "\(clusters.count)"])
        } catch {
            // Remember the stamp so a broken file is reported once, not on every request.
            state.withLock { $0.stamp = stamp }
            onReloadFailure()
            logger.error("tokens file not reloaded, keeping the previous tokens: \(error)", metadata: ["file": "\(path)"])
        }
    }

    struct ParseError: Error, CustomStringConvertible {
        let path: String
        let line: Int
        let message: String
        var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
    }

    static func parse(path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ParseError(path: path, line: 0, message: "cannot read the tokens file: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> [String: String] {
        var clusters: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw ParseError(path: path, line: index + 1, message: "expected 'TOKEN CLUSTER', found \(fields.count) fields")
            }
            let token = String(fields[0]), cluster = String(fields[1])
            if let problem = ClusterName.problem(cluster) {
                throw ParseError(path: path, line: index + 1, message: problem)
            }
            guard clusters[token] == nil else {
                throw ParseError(path: path, line: index + 1, message: "this token is already listed on an earlier line")
            }
            clusters[token] = cluster
        }
        return clusters
    }
}

/// What tells that a file changed: size, modification time and inode (editors and atomic writes replace it).
struct FileStamp: Equatable {
    let size: Int64
    let modified: timespec
    let inode: UInt64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        size = Int64(info.st_size)
        modified = info.st_mtim
        inode = UInt64(info.st_ino)
    }

    static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
        lhs.size == rhs.size && lhs.inode == rhs.inode
            && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
    }
}
