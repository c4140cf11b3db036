import Foundation
import Outputs
@testable import Pipeline
import Rules
import Settings
import TestSupport
import Testing
import Yams

/// The deployment files (docker-compose.yml, the Dockerfile, pipeline/ and its Helm chart) parse, load the way the
/// code reads them, and agree with each other and with the code: images, subcommands, ports, topics, config keys,
/// mounted paths. No Docker engine or helm binary runs here, so these checks are what keeps the files honest.
@Suite struct DeploymentFilesTests {
    static let image = "auditpipe/auditpipe"
    static let stages = ["ingress", "engine", "sink"]

    // MARK: pipeline/auditpipe.yaml

    @Test func theProductionConfigLoadsWithAuthOnAndRulesThatTheImageHolds() throws {
        let config = try DeploymentFile.productionConfig()
        #expect(config.ingress.auth.isEnabled, "the production config must turn auth on")
        #expect(!config.kafka.brokers.isEmpty)
        #expect(!config.sink.outputs.isEmpty)
        #expect(!config.engine.rules.isEmpty)
        // The image copies rules/ to /etc/auditpipe/rules: every rules file named there is one of ours, and loads.
        let files = try config.engine.rules.map { try DeploymentFile.repositoryRulesFile(forImagePath: $0) }
        let rules = try RuleSet.load(files: files)
        #expect(rules.statistics.rules > 0)
    }

    @Test func everyKeyOfTheSchemaIsDocumentedInTheProductionConfig() throws {
        let text = try DeploymentFile.text("pipeline/auditpipe.yaml")
        let sections: [(String, [String])] = [
            ("", AuditpipeConfig.CodingKeys.allCases.map(\.stringValue)),
            ("kafka", KafkaSettings.CodingKeys.allCases.map(\.stringValue)),
            ("topics", TopicSettings.CodingKeys.allCases.map(\.stringValue)),
            ("ingress", IngressSettings.CodingKeys.allCases.map(\.stringValue)),
            ("engine", EngineSettings.CodingKeys.allCases.map(\.stringValue)),
            ("sink", SinkSettings.CodingKeys.allCases.map(\.stringValue)),
        ]
        for (section, keys) in sections {
            let documented = DeploymentFile.documentedKeys(in: text, section: section)
            for key in keys.map(DeploymentFile.snakeCase) {
                #expect(documented.contains(key), "pipeline/auditpipe.yaml does not document \(section.isEmpty ? "" : section + ".")\(key)")
            }
        }
    }

    @Test func theTokensExampleIsATokensFileForValidClusters() throws {
        let tokens = try TokenFile.parse(path: DeploymentFile.path("pipeline/tokens.example"))
        #expect(tokens.count >= 2)
        for cluster in tokens.values { #expect(ClusterName.problem(cluster) == nil, "\(cluster)") }
    }

    // MARK: docker-compose.yml and the Dockerfile

    @Test func composeRunsEveryStageOfTheImageWithTheProductionConfigAndItsFiles() throws {
        let compose = try DeploymentFile.compose()
        let config = try DeploymentFile.productionConfig()
        for stage in Self.stages {
            let service = try compose.service(stage)
            #expect(service["image"] as? String == "\(Self.image):latest", "\(stage)")
            #expect(service["build"] as? String == ".", "\(stage) builds this repository's Dockerfile")
            #expect(service["command"] as? [String] == [stage])
            #expect(try CLIRunner.run([stage, "--help"]).status == 0, "the binary has no subcommand \(stage)")
            let environment = try #require(service["environment"] as? [String: Any])
            let mounts = try compose.mounts(of: stage)
            // The config file it reads is the repository's production config, mounted read-only.
            let configPath = try #require(environment["AUDITPIPE_CONFIG"] as? String)
            #expect(mounts[configPath] == "./pipeline/auditpipe.yaml", "\(stage): \(mounts)")
            // Its brokers are the compose file's brokers, by their advertised listeners.
            let brokers = try #require(environment["AUDITPIPE_BROKERS"] as? String).split(separator: ",").map(String.init)
            #expect(Set(brokers) == Set(try compose.advertisedBrokers()), "\(stage)")
            // The tokens file and the rules the config names are mounted where it looks for them.
            if let tokens = config.ingress.auth.tokensFile { #expect(mounts[tokens] == "./pipeline/tokens.example") }
            for rules in config.engine.rules {
                let directory = (rules as NSString).deletingLastPathComponent
                #expect(mounts[directory] == "./rules", "\(stage): \(rules) is not under a mount of ./rules")
            }
        }
        // Health checks probe each stage's own ready endpoint on the port the config gives it.
        let ports = ["ingress": config.ingress.listen.port, "engine": config.engine.metricsListen.port,
                     "sink": config.sink.metricsListen.port]
        for (stage, port) in ports {
            let test = try #require(try compose.service(stage)["healthcheck"] as? [String: Any])["test"] as? [String]
            #expect(test == ["CMD", "/usr/local/bin/auditpipe", "probe", "http://127.0.0.1:\(port)/readyz"], "\(stage)")
        }
        let published = try #require(try compose.service("ingress")["ports"] as? [String])
        #expect(published.allSatisfy { $0.hasSuffix(":\(config.ingress.listen.port)") }, "\(published)")
    }

    @Test func theDockerfileRunsAuditpipeAsANonRootUserExposingTheConfiguredPorts() throws {
        let dockerfile = try DeploymentFile.text("Dockerfile")
        let config = try DeploymentFile.productionConfig()
        let runtime = try #require(dockerfile.components(separatedBy: "\nFROM ").last)
        #expect(runtime.contains(#"ENTRYPOINT ["/usr/local/bin/auditpipe"]"#))
        #expect(runtime.contains("COPY rules /etc/auditpipe/rules"))
        let user = try #require(runtime.split(separator: "\n").first { $0.hasPrefix("USER ") })
        #expect(!user.contains("root") && !user.hasPrefix("USER 0"), "\(user)")
        let exposed = try #require(runtime.split(separator: "\n").first { $0.hasPrefix("EXPOSE ") })
        let exposedPorts = Set(exposed.split(separator: " ").dropFirst().compactMap { Int($0) })
        #expect(exposedPorts == [config.ingress.listen.port, config.engine.metricsListen.port, config.sink.metricsListen.port])
    }

    /// The runtime image installs a Debian package for every shared library the binary needs beyond the C and C++
    /// runtimes (the Swift runtime is linked statically into the image's binary).
    @Test func theRuntimeImageInstallsEverySharedLibraryTheBinaryLinks() throws {
        let dockerfile = try DeploymentFile.text("Dockerfile")
        let runtime = try #require(dockerfile.components(separatedBy: "\nFROM ").last)
        let needed = try DeploymentFile.neededLibraries(of: RepositoryPaths.builtExecutable("auditpipe"))
        let swiftRuntime = ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "lib_Foundation"]
        let baseImage: Set<String> = ["libc6", "libgcc-s1", "libstdc++6"]
        let libraries = needed.filter { library in !swiftRuntime.contains { library.hasPrefix($0) } }
        #expect(libraries.contains("librdkafka.so.1"))
        for library in libraries {
            let package = try #require(try DeploymentFile.debianPackage(providing: library), "\(library)")
            #expect(baseImage.contains(package) || runtime.contains(" \(package)"),
                    "the runtime stage does not install \(package) (for \(library))")
        }
    }

    // MARK: topics

    @Test func topicInitCreatesTheTopicsOfTopicsYamlAndEveryTopicTheConfigNames() throws {
        let compose = try DeploymentFile.compose()
        let command = try #require(try compose.service("topic-init")["command"] as? [String]).joined(separator: "\n")
        let created = DeploymentFile.createdTopics(in: command)
        let documented = try DeploymentFile.topicsYaml()
        #expect(created == documented, "docker-compose's topic-init and pipeline/topics.yaml differ")
        let config = try DeploymentFile.productionConfig()
        var named = Set(config.topics.all)
        named.formUnion(try DeploymentFile.kafkaOutputTopics())
        named.insert("k8s-audit.alerts.replay")     // auditpipe replay's default
        #expect(named.isSubset(of: Set(created.keys)), "not created: \(named.subtracting(created.keys).sorted())")
        let brokers = try compose.advertisedBrokers().count
        for (topic, settings) in documented {
            #expect(settings.replicationFactor <= brokers, "\(topic)")
            #expect(settings.partitions >= 1, "\(topic)")
        }
        // Room for as many engines as the Helm chart's autoscaler may start.
        let values = try DeploymentFile.yaml("pipeline/helm/auditpipe/values.yaml")
        let maxEngines = try #require(values.path("engine", "autoscaling", "maxReplicas") as? Int)
        #expect(try #require(documented[config.topics.raw]).partitions >= maxEngines)
    }

    // MARK: the Helm chart

    @Test func theHelmValuesCarryAConfigThatLoadsAndMatchesTheTemplates() throws {
        let chart = try DeploymentFile.yaml("pipeline/helm/auditpipe/Chart.yaml")
        #expect(chart["apiVersion"] as? String == "v2")
        #expect(chart["name"] as? String == "auditpipe")
        let values = try DeploymentFile.yaml("pipeline/helm/auditpipe/values.yaml")
        #expect(values.path("image", "repository") as? String == Self.image)
        let configNode = try #require(values["config"])
        let config = try ConfigDecoder.decode(AuditpipeConfig.self, yaml: try Yams.dump(object: configNode),
                                              file: "values.yaml#config")
        #expect(config.ingress.auth.isEnabled)
        // The Secret's `tokens` key is mounted at /etc/auditpipe/secret; the config reads it there.
        #expect(config.ingress.auth.tokensFile == "/etc/auditpipe/secret/tokens")
        #expect(try DeploymentFile.text("pipeline/helm/auditpipe/templates/secret.yaml").contains("  tokens: "))
        for rules in config.engine.rules { _ = try DeploymentFile.repositoryRulesFile(forImagePath: rules) }
        // Each stage's Deployment serves on the port the config gives it.
        let ports = ["ingress": config.ingress.listen.port, "engine": config.engine.metricsListen.port,
                     "sink": config.sink.metricsListen.port]
        for stage in Self.stages {
            let template = try DeploymentFile.text("pipeline/helm/auditpipe/templates/\(stage)-deployment.yaml")
            #expect(template.contains(#""component" "\#(stage)" "port" \#(ports[stage]!)"#), "\(stage)")
            #expect(template.contains(#"prometheus.io/port: "\#(ports[stage]!)""#), "\(stage)")
        }
    }

    @Test func theHelmTemplatesAreBalancedAndReferOnlyToValuesThatExist() throws {
        let values = try DeploymentFile.yaml("pipeline/helm/auditpipe/values.yaml")
        let directory = DeploymentFile.path("pipeline/helm/auditpipe/templates")
        let templates = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(Set(["configmap.yaml", "secret.yaml", "ingress-service.yaml", "engine-hpa.yaml",
                     "ingress-deployment.yaml", "engine-deployment.yaml", "sink-deployment.yaml"]).isSubset(of: templates))
        for name in templates {
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            #expect(DeploymentFile.count("{{", in: text) == DeploymentFile.count("}}", in: text), "\(name): unbalanced braces")
            let opened = DeploymentFile.actions(in: text).filter { ["if", "range", "with", "define"].contains($0) }.count
            let closed = DeploymentFile.actions(in: text).filter { $0 == "end" }.count
            #expect(opened == closed, "\(name): \(opened) blocks opened, \(closed) closed")
            for reference in DeploymentFile.valueReferences(in: text) {
                #expect(values.path(reference) != nil, "\(name) refers to .Values.\(reference.joined(separator: ".")), absent from values.yaml")
            }
        }
    }

    // MARK: the kube-apiserver's files

    @Test func theWebhookKubeconfigPostsToTheIngressForOneClusterWithAToken() throws {
        let kubeconfig = try DeploymentFile.yaml("pipeline/webhook-kubeconfig.yaml")
        #expect(kubeconfig["kind"] as? String == "Config")
        let context = try #require(kubeconfig["current-context"] as? String)
        let contexts = try #require(kubeconfig["contexts"] as? [[String: Any]])
        let chosen = try #require(contexts.first { $0["name"] as? String == context }?["context"] as? [String: Any])
        let clusters = try #require(kubeconfig["clusters"] as? [[String: Any]])
        let cluster = try #require(clusters.first { $0["name"] as? String == chosen["cluster"] as? String })
        let serverText = try #require((cluster["cluster"] as? [String: Any])?["server"] as? String)
        let server = try #require(URL(string: serverText))
        #expect(server.port == (try DeploymentFile.productionConfig()).ingress.listen.port)
        let components = server.path.split(separator: "/").map(String.init)
        #expect(components.count == 2 && components[0] == "k8s-audit", "\(server.path)")
        #expect(ClusterName.problem(components.last ?? "") == nil)
        let users = try #require(kubeconfig["users"] as? [[String: Any]])
        let user = try #require(users.first { $0["name"] as? String == chosen["user"] as? String }?["user"] as? [String: Any])
        #expect(user["token"] is String)
    }

    /// The policy logs what the rules read: request and response of pod, RBAC and workload changes; only metadata of
    /// secrets (never their values); nothing of the noisiest read-only traffic.
    @Test func theAuditPolicyKeepsWhatTheRulesNeed() throws {
        let policy = try AuditPolicy(DeploymentFile.yaml("pipeline/audit-policy.yaml"))
        #expect(policy.level(verb: "create", group: "", resource: "pods") == "RequestResponse")
        #expect(policy.level(verb: "create", group: "", resource: "pods/exec") == "RequestResponse")
        #expect(policy.level(verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings") == "RequestResponse")
        #expect(policy.level(verb: "patch", group: "apps", resource: "daemonsets") == "RequestResponse")
        #expect(policy.level(verb: "create", group: "", resource: "configmaps") == "RequestResponse")
        #expect(policy.level(verb: "get", group: "", resource: "secrets") == "Metadata")
        #expect(policy.level(verb: "create", group: "", resource: "secrets") == "Metadata")
        #expect(policy.level(verb: "update", group: "coordination.k8s.io", resource: "leases") == "None")
        #expect(policy.level(verb: "list", group: "", resource: "pods") == "Metadata")
    }
}

/// An audit.k8s.io/v1 Policy, enough of it to answer which level a user's request on a resource is logged at
/// (rules in order, the first that matches wins).
struct AuditPolicy {
    let rules: [[String: Any]]

    init(_ document: [String: Any]) throws {
        #expect(document["apiVersion"] as? String == "audit.k8s.io/v1")
        #expect(document["kind"] as? String == "Policy")
        rules = try #require(document["rules"] as? [[String: Any]])
        let levels: Set<String> = ["None", "Metadata", "Request", "RequestResponse"]
        for rule in rules { #expect(levels.contains(rule["level"] as? String ?? ""), "\(rule)") }
    }

    /// The level of a request by an ordinary user (rules restricted to other users or groups do not apply).
    func level(verb: String, group: String, resource: String) -> String? {
        for rule in rules where rule["users"] == nil && rule["userGroups"] == nil && rule["nonResourceURLs"] == nil {
            if let verbs = rule["verbs"] as? [String], !verbs.contains(verb) { continue }
            if let resources = rule["resources"] as? [[String: Any]] {
                let matches = resources.contains { entry in
                    (entry["group"] as? String ?? "") == group
                        && ((entry["resources"] as? [String])?.contains(resource) ?? true)
                }
                if !matches { continue }
            }
            return rule["level"] as? String
        }
        return nil
    }
}
