import AuditModel
import Testing
@testable import Rules

// Falco's upstream k8s_audit_rules.yaml, loaded unchanged from ../shared, checked rule by rule with
// hand-written audit events: every enabled rule fires on a matching event and stays quiet on a near miss
// (an event that differs in the one detail the rule cares about); rules switched off by always-false macros
// never fire.

// MARK: - Event builder

/// One audit.k8s.io/v1 Event, described by the fields the upstream rules read.
/// Tests build a base event and derive near misses with `with { ... }`.
struct UpstreamEvent: Sendable {
    var verb = "get"
    var resource: String?
    var subresource: String?
    var namespace: String? = "default"
    var name: String?
    var user = "alice"
    var stage = "ResponseComplete"
    /// `responseStatus.code`; nil leaves responseStatus out.
    var code: Int? = 200
    /// Raw JSON text of `requestObject`.
    var requestObject: String?
    /// `responseObject.metadata.name`.
    var responseName: String?
    var annotations: [String: String] = [:]
    /// `requestURI`; nil derives one from the objectRef.
    var uri: String?
    var stageTimestamp = "2024-05-01T10:11:12.123456789Z"
    var auditID = "6f1c2a7e-0000-4000-8000-000000000001"

    func with(_ change: (inout UpstreamEvent) -> Void) -> UpstreamEvent {
        var copy = self
        change(&copy)
        return copy
    }

    var derivedURI: String {
        var path = "/api/v1"
        if let namespace { path += "/namespaces/\(namespace)" }
        for part in [resource, name, subresource] {
            if let part { path += "/\(part)" }
        }
        return path
    }

    var json: String {
        var objectRef: [String] = []
        for (key, value) in [("resource", resource), ("subresource", subresource), ("namespace", namespace),
                             ("name", name)] {
            if let value { objectRef.append("\(quoted(key)):\(quoted(value))") }
        }
        var members = [
            #""kind":"Event""#, #""apiVersion":"audit.k8s.io/v1""#, #""level":"RequestResponse""#,
            #""auditID":\#(quoted(auditID))"#, #""stage":\#(quoted(stage))"#,
            #""requestURI":\#(quoted(uri ?? derivedURI))"#, #""verb":\#(quoted(verb))"#,
            #""user":{"username":\#(quoted(user)),"groups":["system:authenticated"]}"#,
            #""sourceIPs":["10.0.0.7"]"#, #""userAgent":"kubectl/v1.30.0""#,
            #""objectRef":{\#(objectRef.joined(separator: ","))}"#,
        ]
        if let code { members.append(#""responseStatus":{"metadata":{},"code":\#(code)}"#) }
        if let requestObject { members.append(#""requestObject":\#(requestObject)"#) }
        if let responseName { members.append(#""responseObject":{"metadata":{"name":\#(quoted(responseName))}}"#) }
        members.append(#""requestReceivedTimestamp":"2024-05-01T10:11:12.000000000Z""#)
        members.append(#""stageTimestamp":\#(quoted(stageTimestamp))"#)
        if !annotations.isEmpty {
            let pairs = annotations.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            members.append(#""annotations":{\#(pairs.joined(separator: ","))}"#)
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// Builders for the request objects the rules inspect.
enum Spec {
    static func container(_ image: String, name: String = "app", privileged: Bool? = nil) -> String {
        let security = privileged.map { #","securityContext":{"privileged":\#($0)}"# } ?? ""
        return #"{"name":"\#(name)","image":"\#(image)"\#(security)}"#
    }

    /// A Pod create by alice in `namespace`, answered 201, with `spec` as the pod spec.
    static func podCreate(_ spec: String, namespace: String = "default") -> UpstreamEvent {
        UpstreamEvent(verb: "create", resource: "pods", namespace: namespace, code: 201,
                      requestObject: #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":\#(spec)}"#,
                      responseName: "web")
    }

    static func podCreate(containers: [String], extra: String = "", namespace: String = "default") -> UpstreamEvent {
        podCreate(#"{"containers":[\#(containers.joined(separator: ","))]\#(extra)}"#, namespace: namespace)
    }

    static func roleCreate(_ rules: String, resource: String = "clusterroles") -> UpstreamEvent {
        UpstreamEvent(verb: "create", resource: resource, namespace: resource == "roles" ? "default" : nil,
                      name: "reader", code: 201,
                      requestObject: #"{"kind":"ClusterRole","metadata":{"name":"reader"},"rules":\#(rules)}"#)
    }

    static func rules(resources: [String], verbs: [String]) -> String {
        func array(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        return #"[{"apiGroups":[""],"resources":\#(array(resources)),"verbs":\#(array(verbs))}]"#
    }

    static func clusterRoleBinding(role: String, resource: String = "clusterrolebindings") -> UpstreamEvent {
        UpstreamEvent(verb: "create", resource: resource, namespace: resource == "rolebindings" ? "default" : nil,
                      name: "pwn", code: 201,
                      requestObject: #"{"kind":"ClusterRoleBinding","metadata":{"name":"pwn"},"#
                          + #""subjects":[{"kind":"User","name":"bob","apiGroup":"rbac.authorization.k8s.io"}],"#
                          + #""roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"\#(role)"}}"#)
    }
}

/// One rule and one event, with why the rule should (or should not) fire on it.
struct RuleExpectation: Sendable, CustomTestStringConvertible {
    let rule: String
    let why: String
    let event: UpstreamEvent

    init(_ rule: String, _ why: String, _ event: UpstreamEvent) {
        self.rule = rule
        self.why = why
        self.event = event
    }

    var testDescription: String { "\(rule) — \(why)" }
}

enum UpstreamRules {
    static let loaded: Result<RuleSet, any Error> = Result {
        try RuleSet.load(files: [TestSupport.falcoRulesPath], matching: .all)
    }

    static func all() throws -> RuleSet { try loaded.get() }

    static func firstMatch() throws -> RuleSet {
        try RuleSet.load(files: [TestSupport.falcoRulesPath], matching: .first)
    }

    static func alert(_ rule: String, on event: UpstreamEvent) throws -> Alert? {
        try TestSupport.alerts(all(), event.json).first { $0.rule == rule }
    }
}

// MARK: - Events

enum Events {
    static let getPod = UpstreamEvent(resource: "pods", name: "web")

    static let privilegedPod = Spec.podCreate(containers: [Spec.container("nginx:1.25", privileged: true)])
    static let sensitiveMountPod = Spec.podCreate(
        containers: [Spec.container("nginx:1.25")],
        extra: #","volumes":[{"name":"cfg","configMap":{"name":"cfg"}},{"name":"sock","hostPath":{"path":"/var/run/docker.sock"}}]"#)
    static func hostNamespacePod(_ key: String, _ value: Bool, image: String = "nginx:1.25") -> UpstreamEvent {
        Spec.podCreate(containers: [Spec.container(image)], extra: #","\#(key)":\#(value)"#)
    }

    static let nodePortService = UpstreamEvent(
        verb: "create", resource: "services", name: "web", code: 201,
        requestObject: #"{"kind":"Service","spec":{"type":"NodePort","ports":[{"port":80,"protocol":"TCP","targetPort":8080}]}}"#)

    static func configMap(_ verb: String, data: String) -> UpstreamEvent {
        UpstreamEvent(verb: verb, resource: "configmaps", name: "settings",
                      requestObject: #"{"kind":"ConfigMap","metadata":{"name":"settings"},"data":\#(data)}"#)
    }

    static let anonymous = UpstreamEvent(resource: "secrets", namespace: nil, user: "system:anonymous",
                                         annotations: ["authorization.k8s.io/decision": "allow",
                                                       "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding"],
                                         uri: "/api/v1/secrets")

    static let exec = UpstreamEvent(
        verb: "create", resource: "pods", subresource: "exec", name: "web", stage: "ResponseStarted", code: 101,
        uri: "/api/v1/namespaces/default/pods/web/exec?command=cat&command=%2Fetc%2Fshadow&container=web&stdin=true&tty=true")

    static let portForward = UpstreamEvent(verb: "create", resource: "pods", subresource: "portforward", name: "web",
                                           stage: "RequestReceived", code: nil)

    static let ephemeral = UpstreamEvent(
        verb: "patch", resource: "pods", subresource: "ephemeralcontainers", name: "web",
        requestObject: #"{"ephemeralContainers":[{"name":"debugger-x","image":"busybox:1.36"}]}"#)

    static func namespaceCreate(_ name: String) -> UpstreamEvent {
        UpstreamEvent(verb: "create", resource: "namespaces", namespace: nil, name: name, code: 201)
    }

    static func serviceAccount(_ name: String, namespace: String = "kube-system") -> UpstreamEvent {
        UpstreamEvent(verb: "create", resource: "serviceaccounts", namespace: namespace, name: name, code: 201)
    }

    static let systemClusterRoleUpdate = UpstreamEvent(verb: "update", resource: "clusterroles", namespace: nil,
                                                       name: "system:node")

    static let secretGet = UpstreamEvent(resource: "secrets", name: "db-creds")

    static let ingress = UpstreamEvent(
        verb: "create", resource: "ingresses", name: "web", code: 201,
        requestObject: #"{"kind":"Ingress","spec":{"rules":[{"http":{"paths":[{"path":"/","pathType":"Prefix"}]}}]}}"#)

    static func node(code: Int) -> UpstreamEvent {
        UpstreamEvent(verb: "create", resource: "nodes", namespace: nil, name: "evil-node", user: "kubelet", code: code)
    }
}

/// The "activity" rules: one verb on one resource, answered 2xx.
struct ActivityRule: Sendable {
    let rule: String
    let verb: String
    let resource: String
    let namespaced: Bool

    var event: UpstreamEvent {
        UpstreamEvent(verb: verb, resource: resource, namespace: namespaced ? "default" : nil, name: "thing",
                      code: verb == "create" ? 201 : 200)
    }

    static func event(_ rule: String) -> UpstreamEvent {
        all.first { $0.rule == rule }?.event ?? UpstreamEvent()
    }

    static let all: [ActivityRule] = [
        ("K8s Deployment", "deployments", true), ("K8s Service", "services", true),
        ("K8s ConfigMap", "configmaps", true), ("K8s Namespace", "namespaces", false),
        ("K8s Serviceaccount", "serviceaccounts", true), ("K8s Role", "roles", true),
        ("K8s ClusterRole", "clusterroles", false), ("K8s RoleBinding", "rolebindings", true),
        ("K8s ClusterRoleBinding", "clusterrolebindings", false), ("K8s Secret", "secrets", true),
    ].flatMap { prefix, resource, namespaced in
        [ActivityRule(rule: "\(prefix) Created", verb: "create", resource: resource, namespaced: namespaced),
         ActivityRule(rule: "\(prefix) Deleted", verb: "delete", resource: resource, namespaced: namespaced)]
    }
}

// MARK: - Expectations

enum Expectations {
    static let fires: [RuleExpectation] = [
        RuleExpectation("Disallowed K8s User", "user alice is not allowed", Events.getPod),
        RuleExpectation("Create Privileged Pod", "privileged container", Events.privilegedPod),
        RuleExpectation("Create Privileged Pod", "privileged init container",
                        Spec.podCreate(#"{"containers":[\#(Spec.container("nginx"))],"initContainers":[\#(Spec.container("busybox", name: "init", privileged: true))]}"#)),
        RuleExpectation("Create Privileged Pod", "privileged ephemeral container",
                        Spec.podCreate(#"{"containers":[\#(Spec.container("nginx"))],"ephemeralContainers":[\#(Spec.container("busybox", name: "dbg", privileged: true))]}"#)),
        RuleExpectation("Create Privileged Pod", "one allowed image is not enough: `in` needs every image listed",
                        Spec.podCreate(containers: [Spec.container("falcosecurity/falco:0.38.0", privileged: true),
                                                    Spec.container("nginx", name: "side")])),
        RuleExpectation("Create Privileged Pod", "the repository of localhost:5000/calico/node is localhost",
                        Spec.podCreate(containers: [Spec.container("localhost:5000/calico/node:v3", privileged: true)])),
        RuleExpectation("Create Sensitive Mount Pod", "hostPath /var/run/docker.sock in the second volume",
                        Events.sensitiveMountPod),
        RuleExpectation("Create HostNetwork Pod", "hostNetwork true", Events.hostNamespacePod("hostNetwork", true)),
        RuleExpectation("Create HostPid Pod", "hostPID true", Events.hostNamespacePod("hostPID", true)),
        RuleExpectation("Create HostIPC Pod", "hostIPC true", Events.hostNamespacePod("hostIPC", true)),
        RuleExpectation("Create NodePort Service", "type NodePort", Events.nodePortService),
        RuleExpectation("Create/Modify Configmap With Private Credentials", "a key containing password",
                        Events.configMap("create", data: #"{"db.password":"hunter2"}"#)),
        RuleExpectation("Create/Modify Configmap With Private Credentials", "patch with an aws key in a value",
                        Events.configMap("patch", data: #"{"creds":"aws_access_key_id=AKIA"}"#)),
        RuleExpectation("Anonymous Request Allowed", "anonymous, decision allow", Events.anonymous),
        RuleExpectation("Anonymous Request Allowed", "/healthzz is not the health endpoint",
                        Events.anonymous.with { $0.uri = "/healthzz" }),
        RuleExpectation("Attach/Exec Pod", "exec at ResponseStarted", Events.exec),
        RuleExpectation("Attach/Exec Pod", "get attach",
                        Events.exec.with { $0.verb = "get"; $0.subresource = "attach" }),
        RuleExpectation("port-forward", "portforward, at any stage", Events.portForward),
        RuleExpectation("EphemeralContainers Created", "patch pods/ephemeralcontainers", Events.ephemeral),
        RuleExpectation("Create Disallowed Namespace", "namespace crypto", Events.namespaceCreate("crypto")),
        RuleExpectation("Pod Created in Kube Namespace", "nginx in kube-system",
                        Spec.podCreate(containers: [Spec.container("nginx")], namespace: "kube-system")),
        RuleExpectation("Pod Created in Kube Namespace", "nginx in kube-public",
                        Spec.podCreate(containers: [Spec.container("nginx")], namespace: "kube-public")),
        RuleExpectation("Service Account Created in Kube Namespace", "backdoor in kube-system",
                        Events.serviceAccount("backdoor")),
        RuleExpectation("System ClusterRole Modified/Deleted", "update system:node", Events.systemClusterRoleUpdate),
        RuleExpectation("System ClusterRole Modified/Deleted", "delete a system: Role",
                        UpstreamEvent(verb: "delete", resource: "roles", namespace: "kube-system",
                                      name: "system:controller:bootstrap-signer")),
        RuleExpectation("Attach to cluster-admin Role", "roleRef cluster-admin",
                        Spec.clusterRoleBinding(role: "cluster-admin")),
        RuleExpectation("ClusterRole With Wildcard Created", "resources *",
                        Spec.roleCreate(Spec.rules(resources: ["*"], verbs: ["get"]))),
        RuleExpectation("ClusterRole With Wildcard Created", "verbs * on a Role",
                        Spec.roleCreate(Spec.rules(resources: ["pods"], verbs: ["*"]), resource: "roles")),
        RuleExpectation("ClusterRole With Write Privileges Created", "verb delete",
                        Spec.roleCreate(Spec.rules(resources: ["pods"], verbs: ["get", "delete"]))),
        RuleExpectation("ClusterRole With Pod Exec Created", "resource pods/exec",
                        Spec.roleCreate(Spec.rules(resources: ["pods", "pods/exec"], verbs: ["get"]))),
        RuleExpectation("K8s Secret Get Successfully", "get secret, 200", Events.secretGet),
        RuleExpectation("K8s Secret Get Unsuccessfully Tried", "get secret, 403",
                        Events.secretGet.with { $0.code = 403 }),
        RuleExpectation("K8s Secret Get Unsuccessfully Tried", "no responseStatus: not response_successful holds",
                        Events.secretGet.with { $0.code = nil }),
        RuleExpectation("Ingress Object without TLS Certificate Created", "no spec.tls", Events.ingress),
    ] + ActivityRule.all.map { RuleExpectation($0.rule, "\($0.verb) \($0.resource), 2xx", $0.event) }

    static let nearMisses: [RuleExpectation] = [
        RuleExpectation("Disallowed K8s User", "allowed user", Events.getPod.with { $0.user = "kubernetes-admin" }),
        RuleExpectation("Disallowed K8s User", "system: user",
                        Events.getPod.with { $0.user = "system:kube-scheduler" }),
        RuleExpectation("Disallowed K8s User", "user from a nested list",
                        Events.getPod.with { $0.user = "vpa-updater" }),
        RuleExpectation("Disallowed K8s User", "bare list item", Events.getPod.with { $0.user = "cluster-autoscaler" }),
        RuleExpectation("Disallowed K8s User", "EKS user", Events.getPod.with { $0.user = "eks:node-manager" }),
        RuleExpectation("Disallowed K8s User", "stage ResponseStarted",
                        Events.getPod.with { $0.stage = "ResponseStarted" }),
        RuleExpectation("Create Privileged Pod", "privileged false",
                        Spec.podCreate(containers: [Spec.container("nginx:1.25", privileged: false)])),
        RuleExpectation("Create Privileged Pod", "no securityContext",
                        Spec.podCreate(containers: [Spec.container("nginx:1.25")])),
        RuleExpectation("Create Privileged Pod", "allowed image",
                        Spec.podCreate(containers: [Spec.container("docker.io/falcosecurity/falco:0.38.0", privileged: true)])),
        RuleExpectation("Create Privileged Pod", "allowed image by digest",
                        Spec.podCreate(containers: [Spec.container("calico/node@sha256:0123abcd", privileged: true)])),
        RuleExpectation("Create Privileged Pod", "update, not create", Events.privilegedPod.with { $0.verb = "update" }),
        RuleExpectation("Create Privileged Pod", "a pod subresource",
                        Events.privilegedPod.with { $0.subresource = "status" }),
        RuleExpectation("Create Privileged Pod", "stage ResponseStarted",
                        Events.privilegedPod.with { $0.stage = "ResponseStarted" }),
        RuleExpectation("Create Sensitive Mount Pod", "/etc/nginx is not /etc (exact match)",
                        Spec.podCreate(containers: [Spec.container("nginx")],
                                       extra: #","volumes":[{"name":"v","hostPath":{"path":"/etc/nginx"}}]"#)),
        RuleExpectation("Create Sensitive Mount Pod", "trusted image",
                        Spec.podCreate(containers: [Spec.container("docker.io/sysdig/sysdig:0.40")],
                                       extra: #","volumes":[{"name":"v","hostPath":{"path":"/proc"}}]"#)),
        RuleExpectation("Create HostNetwork Pod", "hostNetwork false", Events.hostNamespacePod("hostNetwork", false)),
        RuleExpectation("Create HostNetwork Pod", "allowed image",
                        Events.hostNamespacePod("hostNetwork", true, image: "gke.gcr.io/kube-proxy:v1.30.0")),
        RuleExpectation("Create HostPid Pod", "hostPID false", Events.hostNamespacePod("hostPID", false)),
        RuleExpectation("Create HostPid Pod", "hostPID missing",
                        Spec.podCreate(containers: [Spec.container("nginx")])),
        RuleExpectation("Create HostIPC Pod", "hostIPC false", Events.hostNamespacePod("hostIPC", false)),
        RuleExpectation("Create NodePort Service", "type ClusterIP", Events.nodePortService.with {
            $0.requestObject = #"{"kind":"Service","spec":{"type":"ClusterIP","ports":[{"port":80}]}}"#
        }),
        RuleExpectation("Create NodePort Service", "update, not create",
                        Events.nodePortService.with { $0.verb = "update" }),
        RuleExpectation("Create/Modify Configmap With Private Credentials", "no credentials",
                        Events.configMap("create", data: #"{"username":"bob"}"#)),
        RuleExpectation("Create/Modify Configmap With Private Credentials", "contains is case-sensitive",
                        Events.configMap("create", data: #"{"DB_PASSWORD":"x"}"#)),
        RuleExpectation("Create/Modify Configmap With Private Credentials", "delete, not modify",
                        Events.configMap("delete", data: #"{"password":"x"}"#)),
        RuleExpectation("Create/Modify Configmap With Private Credentials", "a secret, not a configmap",
                        Events.configMap("create", data: #"{"password":"x"}"#).with { $0.resource = "secrets" }),
        RuleExpectation("Anonymous Request Allowed", "decision forbid",
                        Events.anonymous.with { $0.annotations["authorization.k8s.io/decision"] = "forbid" }),
        RuleExpectation("Anonymous Request Allowed", "/healthz", Events.anonymous.with { $0.uri = "/healthz" }),
        RuleExpectation("Anonymous Request Allowed", "/livez?verbose",
                        Events.anonymous.with { $0.uri = "/livez?verbose" }),
        RuleExpectation("Anonymous Request Allowed", "/readyz", Events.anonymous.with { $0.uri = "/readyz" }),
        RuleExpectation("Anonymous Request Allowed", "not anonymous", Events.anonymous.with { $0.user = "alice" }),
        RuleExpectation("Attach/Exec Pod", "stage ResponseComplete",
                        Events.exec.with { $0.stage = "ResponseComplete" }),
        RuleExpectation("Attach/Exec Pod", "subresource log", Events.exec.with { $0.subresource = "log" }),
        RuleExpectation("port-forward", "subresource proxy", Events.portForward.with { $0.subresource = "proxy" }),
        RuleExpectation("EphemeralContainers Created", "get, not modify", Events.ephemeral.with { $0.verb = "get" }),
        RuleExpectation("EphemeralContainers Created", "pod itself, no subresource",
                        Events.ephemeral.with { $0.subresource = nil }),
        RuleExpectation("Create Disallowed Namespace", "allowed namespace", Events.namespaceCreate("kube-public")),
        RuleExpectation("Create Disallowed Namespace", "delete, not create",
                        Events.namespaceCreate("crypto").with { $0.verb = "delete" }),
        RuleExpectation("Pod Created in Kube Namespace", "namespace default",
                        Spec.podCreate(containers: [Spec.container("nginx")])),
        RuleExpectation("Pod Created in Kube Namespace", "allowed image",
                        Spec.podCreate(containers: [Spec.container("registry.k8s.io/kube-apiserver:v1.30.0")],
                                       namespace: "kube-system")),
        RuleExpectation("Pod Created in Kube Namespace", "allowed image just before an empty list",
                        Spec.podCreate(containers: [Spec.container("kope/kube-apiserver-healthcheck:1.0")],
                                       namespace: "kube-system")),
        RuleExpectation("Service Account Created in Kube Namespace", "known service account",
                        Events.serviceAccount("coredns")),
        RuleExpectation("Service Account Created in Kube Namespace", "namespace default",
                        Events.serviceAccount("backdoor", namespace: "default")),
        RuleExpectation("Service Account Created in Kube Namespace", "403",
                        Events.serviceAccount("backdoor").with { $0.code = 403 }),
        RuleExpectation("System ClusterRole Modified/Deleted", "system:coredns is excepted",
                        Events.systemClusterRoleUpdate.with { $0.name = "system:coredns" }),
        RuleExpectation("System ClusterRole Modified/Deleted", "system:managed-certificate-controller is excepted",
                        Events.systemClusterRoleUpdate.with { $0.name = "system:managed-certificate-controller" }),
        RuleExpectation("System ClusterRole Modified/Deleted", "not a system: role",
                        Events.systemClusterRoleUpdate.with { $0.name = "admin" }),
        RuleExpectation("System ClusterRole Modified/Deleted", "get, not modify",
                        Events.systemClusterRoleUpdate.with { $0.verb = "get" }),
        RuleExpectation("Attach to cluster-admin Role", "roleRef view", Spec.clusterRoleBinding(role: "view")),
        RuleExpectation("Attach to cluster-admin Role", "a RoleBinding",
                        Spec.clusterRoleBinding(role: "cluster-admin", resource: "rolebindings")),
        RuleExpectation("ClusterRole With Wildcard Created", "no wildcard",
                        Spec.roleCreate(Spec.rules(resources: ["pods"], verbs: ["get"]))),
        RuleExpectation("ClusterRole With Wildcard Created", "update, not create",
                        Spec.roleCreate(Spec.rules(resources: ["*"], verbs: ["*"])).with { $0.verb = "update" }),
        RuleExpectation("ClusterRole With Write Privileges Created", "read-only verbs",
                        Spec.roleCreate(Spec.rules(resources: ["pods"], verbs: ["get", "list", "watch"]))),
        RuleExpectation("ClusterRole With Pod Exec Created", "pods/log only",
                        Spec.roleCreate(Spec.rules(resources: ["pods", "pods/log"], verbs: ["get"]))),
        RuleExpectation("K8s Namespace Deleted", "system: user",
                        ActivityRule.event("K8s Namespace Deleted").with { $0.user = "system:serviceaccount:kube-system:namespace-controller" }),
        RuleExpectation("K8s Secret Created", "namespace kube-system",
                        ActivityRule.event("K8s Secret Created").with { $0.namespace = "kube-system" }),
        RuleExpectation("K8s Secret Created", "system: user",
                        ActivityRule.event("K8s Secret Created").with { $0.user = "system:serviceaccount:default:builder" }),
        RuleExpectation("K8s Secret Deleted", "namespace kube-system",
                        ActivityRule.event("K8s Secret Deleted").with { $0.namespace = "kube-system" }),
        RuleExpectation("K8s Secret Deleted", "system: user",
                        ActivityRule.event("K8s Secret Deleted").with { $0.user = "system:kube-controller-manager" }),
        RuleExpectation("K8s Secret Get Successfully", "403", Events.secretGet.with { $0.code = 403 }),
        RuleExpectation("K8s Secret Get Unsuccessfully Tried", "200", Events.secretGet),
        RuleExpectation("K8s Secret Get Unsuccessfully Tried", "list, not get",
                        Events.secretGet.with { $0.verb = "list"; $0.code = 403 }),
        RuleExpectation("Ingress Object without TLS Certificate Created", "spec.tls present", Events.ingress.with {
            $0.requestObject = #"{"kind":"Ingress","spec":{"tls":[{"hosts":["a.example"],"secretName":"a-tls"}]}}"#
        }),
        RuleExpectation("Ingress Object without TLS Certificate Created", "409",
                        Events.ingress.with { $0.code = 409 }),
    ] + ActivityRule.all.flatMap { activity in
        [RuleExpectation(activity.rule, "403", activity.event.with { $0.code = 403 }),
         RuleExpectation(activity.rule, "verb update", activity.event.with { $0.verb = "update" }),
         RuleExpectation(activity.rule, "stage RequestReceived", activity.event.with { $0.stage = "RequestReceived" })]
    }

    /// Rules switched off by always-false macros, each with an event that otherwise matches.
    static let disabled: [RuleExpectation] = [
        RuleExpectation("Create Disallowed Pod", "allowed_k8s_containers is always true",
                        Spec.podCreate(containers: [Spec.container("evil/miner:latest")])),
        RuleExpectation("All K8s Audit Events", "consider_all_events is never true", Events.getPod),
        RuleExpectation("Full K8s Administrative Access", "allowed_full_admin_users is always true",
                        Events.getPod.with { $0.user = "kubernetes-admin" }),
        RuleExpectation("Untrusted Node Successfully Joined the Cluster", "allow_all_k8s_nodes is always true",
                        Events.node(code: 201)),
        RuleExpectation("Untrusted Node Unsuccessfully Tried to Join the Cluster", "allow_all_k8s_nodes is always true",
                        Events.node(code: 403)),
    ]
}

// MARK: - Tests

@Suite struct FalcoUpstreamRulesTests {
    @Test func loadsAllUpstreamRules() throws {
        let ruleSet = try UpstreamRules.all()
        #expect(ruleSet.statistics.rules == 48)
        #expect(ruleSet.ruleNames.count == 48)
    }

    @Test func everyRuleIsCovered() throws {
        let names = Set(try UpstreamRules.all().ruleNames)
        let firing = Set(Expectations.fires.map(\.rule))
        let missing = Set(Expectations.nearMisses.map(\.rule))
        let disabled = Set(Expectations.disabled.map(\.rule))
        #expect(firing == missing)
        #expect(firing.isDisjoint(with: disabled))
        #expect(firing.union(disabled) == names)
        #expect(names.count == 48)
    }

    @Test(arguments: Expectations.fires)
    func ruleFires(_ expectation: RuleExpectation) throws {
        let fired = try TestSupport.firing(UpstreamRules.all(), expectation.event.json)
        #expect(fired.contains(expectation.rule), "fired: \(fired)")
        #expect(!fired.contains { name in Expectations.disabled.contains { $0.rule == name } })
    }

    @Test(arguments: Expectations.nearMisses)
    func ruleStaysQuietOnNearMiss(_ expectation: RuleExpectation) throws {
        let fired = try TestSupport.firing(UpstreamRules.all(), expectation.event.json)
        #expect(!fired.contains(expectation.rule), "fired: \(fired)")
    }

    @Test(arguments: Expectations.disabled)
    func disabledRuleNeverFires(_ expectation: RuleExpectation) throws {
        let fired = try TestSupport.firing(UpstreamRules.all(), expectation.event.json)
        #expect(!fired.contains(expectation.rule), "fired: \(fired)")
    }

    @Test func unsuccessfulNodeJoinStillOnlyTriggersOtherRules() throws {
        // A non-allowed user joining a node: Disallowed K8s User fires, the node rules stay off.
        let fired = try TestSupport.firing(UpstreamRules.all(), Events.node(code: 403).with { $0.user = "mallory" }.json)
        #expect(fired == ["Disallowed K8s User"])
    }

    // MARK: rule_matching

    @Test func firstMatchStopsAtDisallowedK8sUser() throws {
        let event = ActivityRule.event("K8s Deployment Created").json  // alice creates a deployment
        #expect(try TestSupport.firing(UpstreamRules.all(), event) == ["Disallowed K8s User", "K8s Deployment Created"])
        #expect(try TestSupport.firing(UpstreamRules.firstMatch(), event) == ["Disallowed K8s User"])
    }

    @Test func firstMatchFollowsFileOrder() throws {
        let event = Spec.podCreate(containers: [Spec.container("nginx", privileged: true)], extra: #","hostNetwork":true"#)
            .with { $0.user = "kubernetes-admin" }.json
        #expect(try TestSupport.firing(UpstreamRules.all(), event) == ["Create Privileged Pod", "Create HostNetwork Pod"])
        #expect(try TestSupport.firing(UpstreamRules.firstMatch(), event) == ["Create Privileged Pod"])
    }

    // MARK: outputs

    @Test func privilegedPodOutput() throws {
        let event = Spec.podCreate(containers: [Spec.container("nginx:1.25", privileged: true),
                                                Spec.container("busybox", name: "side")])
        let alert = try #require(try UpstreamRules.alert("Create Privileged Pod", on: event))
        #expect(alert.output == "10:11:12.123456789: Warning Pod started with privileged container (user=alice pod=web "
            + "resource=pods ns=default images=(nginx:1.25,busybox) init_images=<NA> ephemeral_images=<NA>)")
        #expect(alert.priority == .warning)
        #expect(alert.tags == ["k8s"])
        #expect(alert.time == 1_714_558_272_123_456_789)
        #expect(alert.outputField("ka.req.pod.containers.image") == .list(["nginx:1.25", "busybox"]))
        #expect(alert.outputField("ka.req.pod.initContainers.image") == OutputFieldValue.null)
        #expect(alert.outputField("ka.resp.name") == .string("web"))
        #expect(alert.outputField("evt.time") == .integer(1_714_558_272_123_456_789))

        let noResponse = try #require(try UpstreamRules.alert("Create Privileged Pod",
                                                              on: event.with { $0.responseName = nil }))
        #expect(noResponse.output.contains("(user=alice pod=<NA> resource=pods"))
    }

    @Test func attachExecOutputDecodesTheFirstCommandParameter() throws {
        let alert = try #require(try UpstreamRules.alert("Attach/Exec Pod", on: Events.exec))
        #expect(alert.output == "10:11:12.123456789: Notice Attach/Exec to pod (user=alice pod=web resource=pods "
            + "ns=default action=exec command=cat)")
        #expect(alert.outputField("ka.uri.param[command]") == .string("cat"))
        #expect(alert.priority == .notice)

        let encoded = Events.exec.with { $0.uri = "/api/v1/namespaces/default/pods/web/exec?command=cat%20%2Fetc%2Fshadow" }
        let decoded = try #require(try UpstreamRules.alert("Attach/Exec Pod", on: encoded))
        #expect(decoded.output.hasSuffix("action=exec command=cat /etc/shadow)"))

        let noCommand = Events.exec.with { $0.uri = "/api/v1/namespaces/default/pods/web/attach?container=web" }
        let missing = try #require(try UpstreamRules.alert("Attach/Exec Pod", on: noCommand))
        #expect(missing.output.hasSuffix("command=<NA>)"))
        #expect(missing.outputField("ka.uri.param[command]") == OutputFieldValue.null)
    }

    @Test func disallowedUserOutput() throws {
        let alert = try #require(try UpstreamRules.alert("Disallowed K8s User", on: Events.getPod))
        #expect(alert.output == "10:11:12.123456789: Warning K8s Operation performed by user not in allowed list of "
            + "users (user=alice target=web/pods verb=get uri=/api/v1/namespaces/default/pods/web resp=200)")
    }

    @Test func anonymousOutputKeepsUpstreamDoubleParenthesis() throws {
        let alert = try #require(try UpstreamRules.alert("Anonymous Request Allowed", on: Events.anonymous))
        #expect(alert.output == "10:11:12.123456789: Warning Request by anonymous user allowed (user=system:anonymous "
            + "verb=get uri=/api/v1/secrets reason=RBAC: allowed by ClusterRoleBinding))")
    }

    @Test func jsonValuedOutputsAreCompactJSON() throws {
        let nodePort = try #require(try UpstreamRules.alert("Create NodePort Service", on: Events.nodePortService))
        // ka.req.service.ports is a list field holding the whole ports array as ONE value: "(" + value + ")".
        #expect(nodePort.output.hasSuffix(#"ns=default ports=([{"port":80,"protocol":"TCP","targetPort":8080}]))"#))
        #expect(nodePort.outputField("ka.req.service.ports")
            == .list([#"[{"port":80,"protocol":"TCP","targetPort":8080}]"#]))

        let mount = try #require(try UpstreamRules.alert("Create Sensitive Mount Pod", on: Events.sensitiveMountPod))
        #expect(mount.output.hasSuffix(#"images=(nginx:1.25) volumes=[{"name":"cfg","configMap":{"name":"cfg"}},"#
            + #"{"name":"sock","hostPath":{"path":"/var/run/docker.sock"}}])"#))

        let binding = try #require(try UpstreamRules.alert("Attach to cluster-admin Role",
                                                           on: Spec.clusterRoleBinding(role: "cluster-admin")))
        #expect(binding.output.hasSuffix(
            #"(user=alice subject=({"kind":"User","name":"bob","apiGroup":"rbac.authorization.k8s.io"}))"#))
    }

    @Test func jsonValuesAreReSerializedCompactly() throws {
        let pretty = Events.sensitiveMountPod.with {
            $0.requestObject = """
                {"kind": "Pod", "spec": {"containers": [{"name": "app", "image": "nginx"}],
                  "volumes": [ {"name": "root", "hostPath": {"path": "/", "type": "Directory"}} ] }}
                """
        }
        let alert = try #require(try UpstreamRules.alert("Create Sensitive Mount Pod", on: pretty))
        #expect(alert.output.hasSuffix(#"volumes=[{"name":"root","hostPath":{"path":"/","type":"Directory"}}])"#))
    }

    @Test func eventsWithoutKindAreEvaluatedAndNonEventsRejected() throws {
        let ruleSet = try UpstreamRules.all()
        let withoutKind = Events.getPod.json.replacingOccurrences(of: #""kind":"Event","#, with: "")
        #expect(try TestSupport.firing(ruleSet, withoutKind) == ["Disallowed K8s User"])
        // The plugin drops events whose stageTimestamp is missing or not RFC 3339, even with a valid
        // requestReceivedTimestamp (which the builder always includes).
        let badTimestamp = Events.getPod.with { $0.stageTimestamp = "yesterday" }.json
        #expect(throws: EventRejection.self) { try TestSupport.firing(ruleSet, badTimestamp) }
        let noTimestamp = badTimestamp.replacingOccurrences(of: #","stageTimestamp":"yesterday""#, with: "")
        #expect(noTimestamp.contains("requestReceivedTimestamp") && !noTimestamp.contains("stageTimestamp"))
        #expect(throws: EventRejection.self) { try TestSupport.firing(ruleSet, noTimestamp) }
        let otherKind = Events.getPod.json.replacingOccurrences(of: #""kind":"Event""#, with: #""kind":"Pod""#)
        #expect(throws: EventRejection.self) { try TestSupport.firing(ruleSet, otherKind) }
    }

    @Test func ephemeralContainerOutputReadsJSONPointers() throws {
        let alert = try #require(try UpstreamRules.alert("EphemeralContainers Created", on: Events.ephemeral))
        #expect(alert.output.hasSuffix("ephemeral_container_name=debugger-x ephemeral_container_image=busybox:1.36)"))
        #expect(alert.outputField("jevt.value[/requestObject/ephemeralContainers/0/name]") == .string("debugger-x"))
    }

    @Test func foldedOutputPrioritiesAndTags() throws {
        let ingress = try #require(try UpstreamRules.alert("Ingress Object without TLS Certificate Created",
                                                           on: Events.ingress))
        #expect(ingress.output == "10:11:12.123456789: Warning K8s Ingress Without TLS Cert Created (user=alice "
            + "ingress=web namespace=default resource=ingresses)")
        #expect(ingress.tags == ["k8s", "network"])

        let secret = try #require(try UpstreamRules.alert("K8s Secret Get Successfully", on: Events.secretGet))
        #expect(secret.priority == .error)
        #expect(secret.output.hasPrefix("10:11:12.123456789: Error K8s Secret Get Successfully (user=alice"))

        let created = try #require(try UpstreamRules.alert("K8s Role Created", on: Spec.roleCreate(
            Spec.rules(resources: ["pods"], verbs: ["get"]), resource: "roles")))
        #expect(created.priority == .informational)
        #expect(created.output.contains(
            #"Informational K8s Role Created (user=alice role=reader ns=default resource=roles "#
            + #"rules=({"apiGroups":[""],"resources":["pods"],"verbs":["get"]}) resp=201 decision=<NA> reason=<NA>)"#))
    }
}
