import Foundation
import Pipeline
import Settings
import TestSupport
import Yams

/// Reads the repository's deployment files for DeploymentFilesTests: YAML as plain dictionaries (with YAML 1.1
/// merge keys resolved, as docker compose does), and the few facts about them the tests compare.
enum DeploymentFile {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// How a topic is created: by pipeline/topics.yaml or by compose's topic-init job.
    struct TopicSpec: Equatable {
        var partitions: Int
        var replicationFactor: Int
        var retentionMilliseconds: Int
    }

    static func path(_ relative: String) -> String {
        RepositoryPaths.packageRoot.appendingPathComponent(relative).path
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    static func yaml(_ relative: String) throws -> [String: Any] {
        guard let document = try Yams.load(yaml: text(relative)) as? [String: Any] else {
            throw Problem(description: "\(relative) is not a YAML mapping")
        }
        return resolvingMerges(document) as? [String: Any] ?? document
    }

    static func productionConfig() throws -> AuditpipeConfig {
        try ConfigDecoder.decode(AuditpipeConfig.self, path: path("pipeline/auditpipe.yaml"))
    }

    /// The repository file behind a rules path inside the image (the Dockerfile copies rules/ to /etc/auditpipe/rules).
    static func repositoryRulesFile(forImagePath imagePath: String) throws -> String {
        let prefix = "/etc/auditpipe/rules/"
        guard imagePath.hasPrefix(prefix) else { throw Problem(description: "\(imagePath) is not under \(prefix)") }
        let file = path("rules/" + imagePath.dropFirst(prefix.count))
        guard FileManager.default.fileExists(atPath: file) else {
            throw Problem(description: "\(imagePath): the repository has no \(file)")
        }
        return file
    }

    /// The keys written, or commented out, directly under `section` (the top level when empty).
    static func documentedKeys(in text: String, section: String) -> Set<String> {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard !section.isEmpty else { return Set(lines.compactMap { key(in: $0, pattern: #"^([a-z_]+):"#) }) }
        guard let start = lines.firstIndex(of: "\(section):") else { return [] }
        let body = lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix(" ") || $0.hasPrefix("#") }
        return Set(body.compactMap { key(in: $0, pattern: #"^  (?:# ?)?([a-z_]+):"#) })
    }

    static func snakeCase(_ camelCase: String) -> String {
        camelCase.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }

    private static func key(in line: String, pattern: String) -> String? {
        guard let match = line.firstMatch(of: try! Regex<(Substring, Substring)>(pattern)) else { return nil }
        return String(match.1)
    }

    // MARK: compose

    struct Compose {
        let document: [String: Any]

        func service(_ name: String) throws -> [String: Any] {
            guard let service = (document["services"] as? [String: Any])?[name] as? [String: Any] else {
                throw Problem(description: "docker-compose.yml has no service \(name)")
            }
            return service
        }

        /// Container path → host path of the service's bind mounts.
        func mounts(of name: String) throws -> [String: String] {
            let volumes = try service(name)["volumes"] as? [String] ?? []
            return Dictionary(volumes.compactMap { volume in
                let parts = volume.split(separator: ":").map(String.init)
                return parts.count >= 2 ? (parts[1], parts[0]) : nil
            }, uniquingKeysWith: { first, _ in first })
        }

        /// host:port of each Kafka broker as it advertises itself.
        func advertisedBrokers() throws -> [String] {
            let services = document["services"] as? [String: Any] ?? [:]
            return services.keys.sorted().compactMap { name in
                let environment = (services[name] as? [String: Any])?["environment"] as? [String: Any]
                guard let listeners = environment?["KAFKA_ADVERTISED_LISTENERS"] as? String else { return nil }
                return listeners.components(separatedBy: "://").last
            }
        }
    }

    static func compose() throws -> Compose { Compose(document: try yaml("docker-compose.yml")) }

    /// The topics a topic-init script creates with `create NAME PARTITIONS RETENTION_MS`.
    static func createdTopics(in script: String) -> [String: TopicSpec] {
        let replication = script.firstMatch(of: /--replication-factor (\d+)/).flatMap { Int($0.1) } ?? 1
        var topics: [String: TopicSpec] = [:]
        for match in script.matches(of: /\n\s*create ([A-Za-z0-9._-]+) (\d+) (\d+)/) {
            topics[String(match.1)] = TopicSpec(partitions: Int(match.2) ?? 0, replicationFactor: replication,
                                                retentionMilliseconds: Int(match.3) ?? 0)
        }
        return topics
    }

    static func topicsYaml() throws -> [String: TopicSpec] {
        let topics = try yaml("pipeline/topics.yaml")["topics"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: topics.map { topic in
            let config = topic["config"] as? [String: Any] ?? [:]
            return (topic["name"] as? String ?? "", TopicSpec(
                partitions: topic["partitions"] as? Int ?? 0, replicationFactor: topic["replication_factor"] as? Int ?? 0,
                retentionMilliseconds: Int(config["retention.ms"] as? String ?? "") ?? 0))
        })
    }

    /// Topics the production config's kafka outputs write to (their default topic and their routes').
    static func kafkaOutputTopics() throws -> Set<String> {
        let outputs = try yaml("pipeline/auditpipe.yaml").path("sink", "outputs") as? [[String: Any]] ?? []
        var topics = Set<String>()
        for output in outputs where output["type"] as? String == "kafka" {
            if let topic = output["topic"] as? String { topics.insert(topic) }
            for route in output["routes"] as? [[String: Any]] ?? [] {
                if let topic = route["topic"] as? String { topics.insert(topic) }
            }
        }
        return topics
    }

    // MARK: the binary's libraries

    static func neededLibraries(of binary: String) throws -> [String] {
        try run("/usr/bin/readelf", ["-d", binary]).split(separator: "\n").compactMap { line in
            line.firstMatch(of: /\(NEEDED\).*\[(.+)\]/).map { String($0.1) }
        }
    }

    /// The Debian package that ships a shared library, by dpkg's database.
    static func debianPackage(providing library: String) throws -> String? {
        let owners = try run("/usr/bin/dpkg", ["-S", library])
        for line in owners.split(separator: "\n") where line.hasSuffix("/" + library) {
            return line.split(separator: ":").first.map(String.init)
        }
        return nil
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Helm templates

    static func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// The first word of each template action (`if`, `end`, `include`, …).
    static func actions(in text: String) -> [String] {
        text.matches(of: /\{\{-?\s*([a-z]+)/).map { String($0.1) }
    }

    /// Each `.Values.a.b` reference, as its path of keys.
    static func valueReferences(in text: String) -> [[String]] {
        text.matches(of: /\.Values((?:\.[A-Za-z0-9_]+)+)/).map { match in
            match.1.split(separator: ".").map(String.init)
        }
    }

    /// YAML 1.1 merge keys (`<<: *anchor`) folded into their mappings, keys of the mapping itself winning.
    private static func resolvingMerges(_ value: Any) -> Any {
        if let array = value as? [Any] { return array.map(resolvingMerges) }
        guard var mapping = value as? [String: Any] else { return value }
        if let merged = mapping.removeValue(forKey: "<<") {
            let sources = (merged as? [[String: Any]]) ?? [(merged as? [String: Any]) ?? [:]]
            for source in sources { mapping.merge(source) { own, _ in own } }
        }
        return mapping.mapValues(resolvingMerges)
    }
}

extension Dictionary where Key == String, Value == Any {
    /// The value at a path of keys through nested mappings.
    func path(_ keys: String...) -> Any? { path(keys) }

    func path(_ keys: [String]) -> Any? {
        var current: Any? = self
        for key in keys { current = (current as? [String: Any])?[key] }
        return current
    }
}
