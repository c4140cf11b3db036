/// A place in a rules file, for messages of the form FILE:LINE:COL.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found while loading rules; errors stop loading, warnings do not.
public struct RuleDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public var description: String {
        severity == .error ? "\(location): \(message)" : "\(location): warning: \(message)"
    }
}

/// Rules that could not be loaded: every error found, in file order.
public struct RulesLoadError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [RuleDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
