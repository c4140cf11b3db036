import Foundation

/// Where the project and the shared reference data are, from any test target.
public enum RepositoryPaths {
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Falco's upstream k8s_audit rules (test and reference data, never copied into the project).
    public static let falcoRules = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/falco/k8s_audit_rules.yaml").path
    public static let projectRules = packageRoot.appendingPathComponent("rules/auditpipe_rules.yaml").path

    /// A built executable of this package (the `auditpipe` binary beside the test bundle).
    public static func builtExecutable(_ name: String) -> String {
        let testExecutable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testExecutable).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return name
    }
}
