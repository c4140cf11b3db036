import Foundation

/// A program a test needs (a server from Debian or PyPI), found on PATH or reported as missing
/// with what installs it.
public struct MissingExecutable: Error, CustomStringConvertible {
    public let name: String
    public var description: String {
        "'\(name)' is not installed: run `make deps` (it installs the servers the tests start)"
    }
}

public enum RequiredExecutable {
    /// The path of `name`, or a `MissingExecutable` error telling to run `make deps`.
    public static func path(_ name: String) throws -> String {
        guard let path = ChildProcess.which(name) else { throw MissingExecutable(name: name) }
        return path
    }

    /// Python 3 with the given modules importable, or a `MissingExecutable` error naming them.
    /// Waits without blocking a thread (importing moto takes a while, and tests share few threads).
    public static func python(withModules modules: [String]) async throws -> String {
        let python = try path("python3")
        let check = try ChildProcess(python, ["-c", modules.map { "import \($0)" }.joined(separator: "; ")])
        _ = await eventually(within: .seconds(60)) { !check.isRunning }
        guard await check.stop() == 0 else {
            throw MissingExecutable(name: "python3 modules \(modules.joined(separator: ", "))")
        }
        return python
    }
}
