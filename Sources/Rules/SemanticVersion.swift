/// Versions in required_engine_version and required_plugin_versions.
public struct SemanticVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// "1.2.3" (a pre-release or build suffix is ignored).
    public init?(parsing text: String) {
        let core = text.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? text
        let parts = core.trimmingPrefix("v").split(separator: ".").map { Int($0) }
        guard (1...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
        self.init(major: parts[0]!, minor: parts.count > 1 ? parts[1]! : 0, patch: parts.count > 2 ? parts[2]! : 0)
    }

    /// Falco's engine version: an old-style integer N means 0.N.0.
    public init?(engineVersion text: String) {
        if let number = Int(text) {
            self.init(major: 0, minor: number, patch: 0)
        } else {
            self.init(parsing: text)
        }
    }

    /// Falco's plugin rule: same major version, and at least the required minor.patch.
    public func isCompatible(withRequired required: SemanticVersion) -> Bool {
        major == required.major && self >= required
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}
