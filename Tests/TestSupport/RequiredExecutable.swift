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
}
