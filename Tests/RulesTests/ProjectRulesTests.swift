import Foundation
import Testing
@testable import Rules

// auditpipe's own rules (rules/auditpipe_rules.yaml): every rule fires on an event it is about and stays
// quiet on a near miss, every output names the cluster, and the file loads next to Falco's upstream rules.

// MARK: - Audit events as dotted paths

/// An audit event kept as `dotted.path → raw JSON` entries and rendered as nested objects, so a case
/// states only the members it cares about on top of a complete, allowed, successful request.
struct AuditCall: Sendable {
    private(set) var members: [String: String]

    /// `verb` on `resource` (with an optional subresource) by alice, answered `code`, at ResponseComplete.
    init(_ verb: String, _ resource: String, sub: String? = nil, ns: String? = "shop", name: String? = "web-1",
         code: Int = 200) {
        let path = [ns.map { "namespaces/\($0)" }, resource, name, sub].compactMap { $0 }.joined(separator: "/")
        members = [
            "kind": json("Event"), "apiVersion": json("audit.k8s.io/v1"), "level": json("RequestResponse"),
            "auditID": json("0b7c9f1e-5d2a-4c61-9a3e-5f0d2c8b1a47"),
            "stage": json("ResponseComplete"), "verb": json(verb), "requestURI": json("/api/v1/" + path),
            "requestReceivedTimestamp": json("2025-03-04T05:06:07.000000000Z"),
            "stageTimestamp": json("2025-03-04T05:06:07.250000000Z"),
            "userAgent": json("kubectl/v1.31.0"), "sourceIPs": #"["192.0.2.10"]"#,
            "responseStatus.code": String(code),
            "annotations": #"{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}"#,
        ]
        for (key, value) in [("resource", resource), ("subresource", sub), ("namespace", ns), ("name", name)] {
            if let value { members["objectRef." + key] = json(value) }
        }
        members.merge(Self.identity("alice", groups: ["system:authenticated"])) { $1 }
    }

    private static func identity(_ user: String, groups: [String]) -> [String: String] {
        ["user.username": json(user), "user.groups": "[" + groups.map(json).joined(separator: ",") + "]"]
    }

    /// Sets (or, with nil, removes) the raw JSON at a dotted path.
    func set(_ path: String, _ raw: String?) -> AuditCall {
        var copy = self
        copy.members[path] = raw
        return copy
    }

    func by(_ user: String, groups: [String] = ["system:authenticated"]) -> AuditCall {
        var copy = self
        copy.members.merge(Self.identity(user, groups: groups)) { $1 }
        return copy
    }

    /// A non-resource request (`/readyz`, `/metrics`, ...): no objectRef.
    func nonResource(_ uri: String) -> AuditCall {
        var copy = self.uri(uri)
        copy.members = copy.members.filter { !$0.key.hasPrefix("objectRef.") }
        return copy
    }

    func body(_ raw: String) -> AuditCall { set("requestObject", raw) }
    func stage(_ stage: String) -> AuditCall { set("stage", json(stage)) }
    func code(_ code: Int) -> AuditCall { set("responseStatus.code", String(code)) }
    func uri(_ uri: String) -> AuditCall { set("requestURI", json(uri)) }

    var text: String { Self.render(members.map { ($0.key.split(separator: ".")[...], $0.value) }) }

    private static func render(_ entries: [(ArraySlice<Substring>, String)]) -> String {
        let grouped = Dictionary(grouping: entries) { $0.0.first ?? "" }
        let body = grouped.keys.sorted().map { key -> String in
            let children = grouped[key]!
            let value = children.count == 1 && children[0].0.count == 1
                ? children[0].1 : render(children.map { ($0.0.dropFirst(), $0.1) })
            return json(String(key)) + ":" + value
        }
        return "{" + body.joined(separator: ",") + "}"
    }
}

/// A JSON string literal, escaped by Foundation.
private func json(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    return String(decoding: (try? encoder.encode(text)) ?? Data("null".utf8), as: UTF8.self)
}

private func jsonArray(_ items: [String]) -> String { "[" + items.map(json).joined(separator: ",") + "]" }

// MARK: - Request objects

private enum Body {
    static func container(_ name: String, _ image: String, privileged: Bool? = nil) -> String {
        let members = [#""name":\#(json(name))"#, #""image":\#(json(image))"#]
            + (privileged.map { [#""securityContext":{"privileged":\#($0)}"#] } ?? [])
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A pod whose spec holds `spec` (members of the spec object, comma-separated).
    static func pod(_ spec: String) -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1"},"spec":{\#(spec)}}"#
    }

    static func podCreate(_ spec: String) -> AuditCall {
        AuditCall("create", "pods", code: 201).body(pod(spec))
    }

    static let appContainer = #""containers":[\#(container("app", "ghcr.io/acme/shop:1.4"))]"#

    static func podWithVolume(_ volume: String) -> AuditCall {
        podCreate(appContainer + #","volumes":[{"name":"cfg","configMap":{"name":"shop"}},\#(volume)]"#)
    }

    static func role(resources: [String], verbs: [String]) -> AuditCall {
        AuditCall("create", "clusterroles", ns: nil, name: "shop-operator", code: 201).body(
            #"{"kind":"ClusterRole","metadata":{"name":"shop-operator"},"rules":["#
                + #"{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]},"#
                + #"{"apiGroups":["","apps"],"resources":\#(jsonArray(resources)),"verbs":\#(jsonArray(verbs))}]}"#)
    }

    static func binding(role: String, subject: (kind: String, name: String)) -> AuditCall {
        AuditCall("create", "clusterrolebindings", ns: nil, name: "shop-binding", code: 201).body(
            #"{"kind":"ClusterRoleBinding","metadata":{"name":"shop-binding"},"#
                + #""subjects":[{"kind":"ServiceAccount","name":"shop","namespace":"shop"},"#
                + #"{"kind":"\#(subject.kind)","name":"\#(subject.name)","apiGroup":"rbac.authorization.k8s.io"}],"#
                + #""roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"\#(role)"}}"#)
    }

    static func configMap(_ data: [String: String]) -> AuditCall {
        let pairs = data.keys.sorted().map { json($0) + ":" + json(data[$0]!) }
        return AuditCall("create", "configmaps", name: "shop-config", code: 201)
            .body(#"{"kind":"ConfigMap","metadata":{"name":"shop-config"},"data":{\#(pairs.joined(separator: ","))}}"#)
    }

    static func service(_ spec: String) -> AuditCall {
        AuditCall("create", "services", name: "shop", code: 201)
            .body(#"{"kind":"Service","metadata":{"name":"shop"},"spec":{"ports":[{"port":80}],\#(spec)}}"#)
    }

    static func csrApproval(_ condition: String) -> AuditCall {
        AuditCall("update", "certificatesigningrequests", sub: "approval", ns: nil, name: "csr-7x2q").body(
            #"{"kind":"CertificateSigningRequest","metadata":{"name":"csr-7x2q"},"#
                + #""spec":{"signerName":"kubernetes.io/kube-apiserver-client","username":"mallory"},"#
                + #""status":{"conditions":[{"type":"\#(condition)","status":"True","reason":"KubectlDecision"}]}}"#)
    }

    static func secret(type: String) -> AuditCall {
        AuditCall("create", "secrets", name: "shop-token", code: 201).body(
            #"{"kind":"Secret","type":"\#(type)","metadata":{"name":"shop-token","#
                + #""annotations":{"kubernetes.io/service-account.name":"shop"}}}"#)
    }

    static func stream(_ sub: String, query: String) -> AuditCall {
        AuditCall("create", "pods", sub: sub, code: 101).stage("ResponseStarted")
            .uri("/api/v1/namespaces/shop/pods/web-1/\(sub)?\(query)")
    }
}

// MARK: - Cases

/// One event and whether `rule` fires on it.
struct ProjectRuleCase: Sendable, CustomTestStringConvertible {
    let rule: String
    let fires: Bool
    let why: String
    let event: AuditCall

    var testDescription: String { "\(rule): \(fires ? "fires" : "quiet") — \(why)" }
}

private let kubeSystemSA = "system:serviceaccount:kube-system:replicaset-controller"

/// For each rule, events it must fire on and near misses it must ignore.
private let table: [(rule: String, fires: [(String, AuditCall)], quiet: [(String, AuditCall)])] = [
    ("Privileged Container in Pod Spec",
     [("privileged init container", Body.podCreate(Body.appContainer
         + #","initContainers":[\#(Body.container("init", "busybox", privileged: true))]"#)),
      ("privileged debug container", AuditCall("patch", "pods", sub: "ephemeralcontainers").body(
          Body.pod(#""ephemeralContainers":[\#(Body.container("dbg", "busybox", privileged: true))]"#)))],
     [("init container not privileged", Body.podCreate(Body.appContainer
         + #","initContainers":[\#(Body.container("init", "busybox", privileged: false))]"#)),
      ("trusted kube-proxy image", Body.podCreate(
          #""containers":[\#(Body.container("kp", "registry.k8s.io/kube-proxy:v1.31.0", privileged: true))]"#))]),
    ("Pod Shares Host Namespace",
     [("hostPID", Body.podCreate(Body.appContainer + #","hostPID":true"#)),
      ("hostNetwork", Body.podCreate(Body.appContainer + #","hostNetwork":true"#)),
      ("hostIPC", Body.podCreate(Body.appContainer + #","hostIPC":true"#))],
     [("host namespaces off", Body.podCreate(Body.appContainer + #","hostNetwork":false,"hostPID":false"#)),
      ("creation refused", Body.podCreate(Body.appContainer + #","hostPID":true"#).code(403))]),
    ("Sensitive Host Path Mount",
     [("containerd socket as 2nd volume", Body.podWithVolume(
         #"{"name":"sock","hostPath":{"path":"/run/containerd/containerd.sock"}}"#)),
      ("host root", Body.podWithVolume(#"{"name":"root","hostPath":{"path":"/"}}"#))],
     [("log directory", Body.podWithVolume(#"{"name":"logs","hostPath":{"path":"/var/log/shop"}}"#))]),
    ("Exec or Attach Into Pod",
     [("exec stream opened", Body.stream("exec", query: "command=sh&container=app&stdin=true&tty=true")),
      ("attach over websocket", Body.stream("attach", query: "container=app&stdin=true").set("verb", json("get")))],
     [("same exec at ResponseComplete", Body.stream("exec", query: "command=sh").stage("ResponseComplete")),
      ("exec forbidden", Body.stream("exec", query: "command=sh").code(403))]),
    ("Pod Port Forward",
     [("tunnel opened", Body.stream("portforward", query: "ports=5432"))],
     [("log stream instead", Body.stream("log", query: "follow=true").set("verb", json("get")))]),
    ("Ephemeral Debug Container Added",
     [("kubectl debug", AuditCall("patch", "pods", sub: "ephemeralcontainers")
         .body(Body.pod(#""ephemeralContainers":[\#(Body.container("dbg", "busybox"))]"#)))],
     [("plain pod patch", AuditCall("patch", "pods").body(#"{"metadata":{"labels":{"tier":"web"}}}"#))]),
    ("Node Proxy Access",
     [("kubelet API through apiserver", AuditCall("get", "nodes", sub: "proxy", ns: nil, name: "worker-1"))],
     [("node status read", AuditCall("get", "nodes", sub: "status", ns: nil, name: "worker-1"))]),
    ("Binding To Cluster Admin Role",
     [("bound to cluster-admin", Body.binding(role: "cluster-admin", subject: ("User", "bob")))],
     [("bound to view", Body.binding(role: "view", subject: ("User", "bob")))]),
    ("Binding To Anonymous Or All Users",
     [("all unauthenticated clients", Body.binding(role: "view", subject: ("Group", "system:unauthenticated"))),
      ("anonymous user", Body.binding(role: "view", subject: ("User", "system:anonymous")))],
     [("an ordinary group", Body.binding(role: "view", subject: ("Group", "shop-devs")))]),
    ("Role With Wildcard Permissions",
     [("every verb", Body.role(resources: ["deployments"], verbs: ["*"])),
      ("every resource", Body.role(resources: ["*"], verbs: ["get"]))],
     [("explicit verbs", Body.role(resources: ["deployments"], verbs: ["get", "update"])),
      ("control plane reconciling", Body.role(resources: ["*"], verbs: ["*"]).by("system:apiserver",
                                                                                 groups: ["system:masters"]))]),
    ("Role Granting Pod Exec",
     [("pods/exec", Body.role(resources: ["pods", "pods/exec"], verbs: ["create"]))],
     [("pods/log", Body.role(resources: ["pods", "pods/log"], verbs: ["get"]))]),
    ("Role Granting Secret Read",
     [("list secrets", Body.role(resources: ["secrets"], verbs: ["list"]))],
     [("write-only secrets", Body.role(resources: ["secrets"], verbs: ["create", "delete"]))]),
    ("Role Granting Privilege Escalation Verbs",
     [("bind", Body.role(resources: ["clusterroles"], verbs: ["bind"])),
      ("impersonate", Body.role(resources: ["users", "groups"], verbs: ["impersonate"]))],
     [("read roles", Body.role(resources: ["clusterroles"], verbs: ["get", "list"]))]),
    ("Secret Read By Unexpected User",
     [("get by a person", AuditCall("get", "secrets", name: "db-password")),
      ("watch by a foreign service account", AuditCall("watch", "secrets", name: nil).stage("ResponseStarted")
          .by("system:serviceaccount:shop:shop", groups: ["system:serviceaccounts"]))],
     [("get by a controller", AuditCall("get", "secrets", name: "db-password").by(kubeSystemSA)),
      ("get refused", AuditCall("get", "secrets", name: "db-password").code(403))]),
    ("Credentials in ConfigMap",
     [("aws secret key", Body.configMap(["AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"])),
      ("private key", Body.configMap(["tls.key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"]))],
     [("harmless settings", Body.configMap(["log_level": "debug", "feature.cart": "on"]))]),
    ("Service Account Token Requested",
     [("kubectl create token", AuditCall("create", "serviceaccounts", sub: "token", name: "shop", code: 201))],
     [("kubelet projecting a token", AuditCall("create", "serviceaccounts", sub: "token", name: "shop", code: 201)
         .by("system:node:worker-1", groups: ["system:nodes"]))]),
    ("Service Account Token Secret Created",
     [("legacy token secret", Body.secret(type: "kubernetes.io/service-account-token"))],
     [("opaque secret", Body.secret(type: "Opaque"))]),
    ("Impersonated Request",
     [("kubectl --as", AuditCall("list", "pods", name: nil).set("impersonatedUser.username", json("bob")))],
     [("own identity", AuditCall("list", "pods", name: nil))]),
    ("Certificate Signing Request Approved",
     [("approved by a person", Body.csrApproval("Approved"))],
     [("denied", Body.csrApproval("Denied"))]),
    ("Unauthenticated Request Permitted",
     [("anonymous pod list", AuditCall("list", "pods", name: nil).by("system:anonymous", groups: ["system:unauthenticated"]))],
     [("readiness probe", AuditCall("get", "pods").nonResource("/readyz?verbose")
         .by("system:anonymous", groups: ["system:unauthenticated"])),
      ("anonymous but forbidden", AuditCall("list", "pods", name: nil).code(403)
          .by("system:anonymous", groups: ["system:unauthenticated"])
          .set("annotations", #"{"authorization.k8s.io/decision":"forbid"}"#))]),
    ("Protected Namespace Changed By Non-System User",
     [("configmap patched in kube-system", AuditCall("patch", "configmaps", ns: "kube-system", name: "coredns")),
      ("kube-system deleted", AuditCall("delete", "namespaces", ns: nil, name: "kube-system"))],
     [("patched by a controller", AuditCall("patch", "configmaps", ns: "kube-system", name: "coredns").by(kubeSystemSA)),
      ("read only", AuditCall("get", "configmaps", ns: "kube-system", name: "coredns"))]),
    ("Service Exposed Outside Cluster",
     [("NodePort", Body.service(#""type":"NodePort""#))],
     [("ClusterIP", Body.service(#""type":"ClusterIP""#))]),
    ("Service With External IPs",
     [("external IP", Body.service(#""type":"ClusterIP","externalIPs":["203.0.113.9"]"#))],
     [("empty external IPs", Body.service(#""type":"ClusterIP","externalIPs":[]"#))]),
    ("Admission Control Configuration Changed",
     [("webhook deleted", AuditCall("delete", "validatingwebhookconfigurations", ns: nil, name: "policy-gate"))],
     [("webhook read", AuditCall("get", "validatingwebhookconfigurations", ns: nil, name: "policy-gate"))]),
]

private let cases: [ProjectRuleCase] = table.flatMap { entry in
    entry.fires.map { ProjectRuleCase(rule: entry.rule, fires: true, why: $0.0, event: $0.1) }
        + entry.quiet.map { ProjectRuleCase(rule: entry.rule, fires: false, why: $0.0, event: $0.1) }
}

// MARK: - Tests

private enum ProjectRules {
    static let path = TestSupport.projectRulesDirectory.appendingPathComponent("auditpipe_rules.yaml").path
    static let loaded = Result { try RuleSet.load(files: [path], matching: .all) }
}

@Suite struct ProjectRulesTests {
    @Test(arguments: cases)
    func ruleFiresOnlyWhereExpected(_ check: ProjectRuleCase) throws {
        let ruleSet = try ProjectRules.loaded.get()
        let fired = try TestSupport.firing(ruleSet, check.event.text)
        #expect(fired.contains(check.rule) == check.fires, "fired: \(fired)")
    }

    @Test func everyRuleHasCasesBothWays() throws {
        let ruleSet = try ProjectRules.loaded.get()
        #expect(Set(ruleSet.ruleNames) == Set(table.map(\.rule)))
        #expect(ruleSet.ruleNames.count == table.count)
        for entry in table {
            #expect(!entry.fires.isEmpty && !entry.quiet.isEmpty, "\(entry.rule)")
        }
    }

    @Test func everyRuleIsTaggedAuditRuleWithClusterInOutput() throws {
        let ruleSet = try ProjectRules.loaded.get()
        #expect(ruleSet.warnings.isEmpty, "\(ruleSet.warnings)")
        for rule in ruleSet.rules.map(\.definition) {
            #expect(rule.output.contains("cluster=%ka.cluster.name"), "\(rule.name)")
            #expect(rule.source == "k8s_audit", "\(rule.name)")
            #expect(rule.tags.contains("k8s") && rule.tags.contains { $0.hasPrefix("mitre_") }, "\(rule.name)")
        }
    }

    @Test(arguments: cases.filter(\.fires))
    func alertNamesTheEvaluatedCluster(_ check: ProjectRuleCase) throws {
        let ruleSet = try ProjectRules.loaded.get()
        let alerts = try TestSupport.alerts(ruleSet, check.event.text, cluster: "prod-eu")
        let alert = try #require(alerts.first { $0.rule == check.rule })
        #expect(alert.output.contains("cluster=prod-eu"), "\(alert.output)")
        #expect(alert.cluster == "prod-eu")
    }

    /// The tuning recipes in the file's header work: a later file appends to a list, replaces a hook, and
    /// switches a rule off.
    @Test func tuningFileLoadedAfterOverridesDefaults() throws {
        let tuning = FileManager.default.temporaryDirectory
            .appendingPathComponent("ap-tuning-\(UUID().uuidString).yaml")
        try """
        - list: ap_secret_reader_users
          items: [alice]
          override:
            items: append
        - macro: ap_user_known_exec_activity
          condition: (ka.target.namespace = shop)
          override:
            condition: replace
        - rule: Pod Port Forward
          enabled: false
          override:
            enabled: replace
        """.write(to: tuning, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tuning) }
        let tuned = try RuleSet.load(files: [ProjectRules.path, tuning.path], matching: .all)
        #expect(tuned.warnings.isEmpty, "\(tuned.warnings)")
        let quietened = [("Secret Read By Unexpected User", AuditCall("get", "secrets", name: "db-password")),
                         ("Exec or Attach Into Pod", Body.stream("exec", query: "command=sh")),
                         ("Pod Port Forward", Body.stream("portforward", query: "ports=5432"))]
        for (rule, event) in quietened {
            #expect(try TestSupport.firing(try ProjectRules.loaded.get(), event.text).contains(rule))
            #expect(try !TestSupport.firing(tuned, event.text).contains(rule), "\(rule)")
        }
        let otherUser = AuditCall("get", "secrets", name: "db-password").by("mallory")
        #expect(try TestSupport.firing(tuned, otherUser.text).contains("Secret Read By Unexpected User"))
    }

    @Test func loadsAlongsideFalcoUpstreamRules() throws {
        let both = try RuleSet.load(files: [TestSupport.falcoRulesPath, ProjectRules.path], matching: .all)
        let upstream = try RuleSet.load(files: [TestSupport.falcoRulesPath])
        let ours = try ProjectRules.loaded.get()
        #expect(both.statistics.rules == upstream.statistics.rules + ours.statistics.rules)
        #expect(both.statistics.macros == upstream.statistics.macros + ours.statistics.macros)
        #expect(both.statistics.lists == upstream.statistics.lists + ours.statistics.lists)
        #expect(both.warnings.count == upstream.warnings.count)
    }
}
