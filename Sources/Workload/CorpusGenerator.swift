/// Realistic audit events for benchmarks and the load generator: the mix of a busy control plane.
/// Mostly controller reads and lease renewals, kubelet status patches and
/// event writes, some humans creating pods with full specs, and a small share
/// of attacks that rules catch. Deterministic for a given seed.
public struct CorpusGenerator {
    /// The kinds of events the generator writes.
    public enum Kind: CaseIterable, Sendable {
        /// Controllers' get/list/watch (40% of the mix).
        case controllerRead
        /// Kubelets renewing their node leases, with the Lease in the request.
        case leaseRenewal
        /// Kubelets patching their node's status conditions.
        case nodeStatusPatch
        /// Kubelets writing Events.
        case eventCreate
        /// A person creating a pod with kubectl, the full spec in the request.
        case podCreate
        /// An attack: a privileged pod mounting the host's root, sharing its PID and network namespaces.
        case privilegedPodCreate
        /// An attack: an exec session into a running pod.
        case execIntoPod
        /// Secrets read with kubectl (by an intruder or by an admin).
        case secretRead
        /// An attack: a user bound to cluster-admin.
        case clusterAdminBinding
    }

    /// The first event's stageTimestamp when none is given: 2026-11-26T10:00:00Z.
    public static let defaultStart: Int64 = 1_795_687_200_000_000_000

    private var random: SplitMix64
    private let start: Int64

    /// - Parameter start: the stageTimestamp of event number 0 (ns since the epoch); event n is n ms later.
    public init(seed: UInt64, start: Int64 = CorpusGenerator.defaultStart) {
        random = SplitMix64(seed: seed)
        self.start = start
    }

    public mutating func events(_ count: Int) -> [[UInt8]] {
        (0..<count).map { Array(event(number: $0).utf8) }
    }

    /// An event of the mix, its kind drawn at random.
    public mutating func event(number: Int) -> String {
        event(Self.kind(roll: random.next() % 1000), number: number)
    }

    /// An event of the given kind.
    public mutating func event(_ kind: Kind, number: Int) -> String {
        let auditID = uuid()
        let nanos = start + Int64(number) * 1_000_000
        switch kind {
        case .controllerRead: return controllerRead(auditID, nanos)
        case .leaseRenewal: return leaseUpdate(auditID, nanos)
        case .nodeStatusPatch: return nodeStatusPatch(auditID, nanos)
        case .eventCreate: return eventCreate(auditID, nanos)
        case .podCreate: return podCreate(auditID, nanos, malicious: false)
        case .privilegedPodCreate: return podCreate(auditID, nanos, malicious: true)
        case .execIntoPod: return execIntoPod(auditID, nanos)
        case .secretRead: return secretRead(auditID, nanos)
        case .clusterAdminBinding: return clusterAdminBinding(auditID, nanos)
        }
    }

    /// The mix, per mille: attacks are 3.4% of it (a busy cluster under attack, so that rules have work).
    static func kind(roll: UInt64) -> Kind {
        switch roll {
        case 0..<400: .controllerRead
        case 400..<650: .leaseRenewal
        case 650..<800: .nodeStatusPatch
        case 800..<900: .eventCreate
        case 900..<970: .podCreate
        case 970..<985: .privilegedPodCreate
        case 985..<993: .execIntoPod
        case 993..<997: .secretRead
        default: .clusterAdminBinding
        }
    }

    // MARK: - Event kinds

    private mutating func controllerRead(_ id: String, _ nanos: Int64) -> String {
        let controllers = ["replicaset-controller", "deployment-controller", "endpointslice-controller",
                           "namespace-controller", "generic-garbage-collector", "horizontal-pod-autoscaler"]
        let resources = ["pods", "replicasets", "endpoints", "configmaps", "services", "deployments"]
        let controller = pick(controllers)
        let resource = pick(resources)
        let namespace = pick(["default", "payments", "web", "kube-system", "monitoring"])
        let verb = pick(["get", "list", "watch"])
        let name = verb == "get" ? "\(resource.dropLast())-\(random.next() % 500)" : nil
        let uri = "/api/v1/namespaces/\(namespace)/\(resource)" + (name.map { "/\($0)" } ?? "?resourceVersion=\(random.next() % 900000)&limit=500")
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: verb, uri: uri,
                        user: "system:serviceaccount:kube-system:\(controller)",
                        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
                        agent: "kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3c1d0e7/system:serviceaccount:kube-system:\(controller)",
                        objectRef: objectRef(resource, namespace, name), code: 200, level: "Metadata", extra: "")
    }

    private mutating func leaseUpdate(_ id: String, _ nanos: Int64) -> String {
        let node = "ip-10-0-\(random.next() % 40)-\(random.next() % 250).eu-west-1.compute.internal"
        let lease = """
            "requestObject":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"\(node)",\
            "namespace":"kube-node-lease","uid":"\(uuid())","resourceVersion":"\(random.next() % 9000000)",\
            "ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"\(node)","uid":"\(uuid())"}]},\
            "spec":{"holderIdentity":"\(node)","leaseDurationSeconds":40,"renewTime":"2026-11-26T10:00:00.000000Z"}},
            """
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: "update",
                        uri: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/\(node)?timeout=10s",
                        user: "system:node:\(node)", groups: ["system:nodes", "system:authenticated"],
                        agent: "kubelet/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("leases", "kube-node-lease", node, group: "coordination.k8s.io"),
                        code: 200, level: "Request", extra: lease)
    }

    private mutating func nodeStatusPatch(_ id: String, _ nanos: Int64) -> String {
        let node = "ip-10-0-\(random.next() % 40)-\(random.next() % 250).eu-west-1.compute.internal"
        let patch = """
            "requestObject":{"status":{"$setElementOrder/conditions":[{"type":"MemoryPressure"},{"type":"DiskPressure"},\
            {"type":"PIDPressure"},{"type":"Ready"}],"conditions":[{"lastHeartbeatTime":"2026-11-26T10:00:00Z",\
            "type":"MemoryPressure"},{"lastHeartbeatTime":"2026-11-26T10:00:00Z","type":"DiskPressure"},\
            {"lastHeartbeatTime":"2026-11-26T10:00:00Z","type":"PIDPressure"},{"lastHeartbeatTime":"2026-11-26T10:00:00Z",\
            "type":"Ready"}]}},
            """
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: "patch",
                        uri: "/api/v1/nodes/\(node)/status?timeout=10s", user: "system:node:\(node)",
                        groups: ["system:nodes", "system:authenticated"],
                        agent: "kubelet/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("nodes", nil, node, subresource: "status"), code: 200, level: "Request",
                        extra: patch)
    }

    private mutating func eventCreate(_ id: String, _ nanos: Int64) -> String {
        let namespace = pick(["default", "payments", "web", "monitoring"])
        let pod = "web-\(random.next() % 9000)-\(random.next() % 99)"
        let body = """
            "requestObject":{"kind":"Event","apiVersion":"v1","metadata":{"name":"\(pod).17a\(random.next() % 99999)",\
            "namespace":"\(namespace)"},"involvedObject":{"kind":"Pod","namespace":"\(namespace)","name":"\(pod)"},\
            "reason":"Pulled","message":"Container image \\"registry.example.com/web:1.4.2\\" already present on machine",\
            "source":{"component":"kubelet","host":"node-3"},"type":"Normal","count":1},
            """
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: "create",
                        uri: "/api/v1/namespaces/\(namespace)/events", user: "system:node:node-3",
                        groups: ["system:nodes", "system:authenticated"], agent: "kubelet/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("events", namespace, nil), code: 201, level: "Request", extra: body)
    }

    private mutating func podCreate(_ id: String, _ nanos: Int64, malicious: Bool) -> String {
        let namespace = malicious ? pick(["default", "kube-system"]) : pick(["payments", "web"])
        let name = "\(malicious ? "debug" : "api")-\(random.next() % 90000)"
        let image = malicious ? pick(["alpine:3.19", "docker.io/library/ubuntu:22.04"]) : "registry.example.com/payments/api:2.\(random.next() % 20).1"
        let security = malicious ? "\"securityContext\":{\"privileged\":true}," : "\"securityContext\":{\"runAsNonRoot\":true,\"allowPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true},"
        let volumes = malicious
            ? "\"volumes\":[{\"name\":\"host\",\"hostPath\":{\"path\":\"/\",\"type\":\"Directory\"}}],\"hostPID\":true,\"hostNetwork\":true,"
            : "\"volumes\":[{\"name\":\"config\",\"configMap\":{\"name\":\"api-config\"}},{\"name\":\"tmp\",\"emptyDir\":{}}],"
        let spec = """
            "requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"\(name)","namespace":"\(namespace)",\
            "labels":{"app":"api","team":"payments"}},"spec":{\(volumes)"containers":[{"name":"api","image":"\(image)",\
            "command":["/bin/api"],"args":["--port=8080","--log-level=info"],"ports":[{"containerPort":8080,"protocol":"TCP"}],\
            "resources":{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}},\(security)\
            "volumeMounts":[{"name":"\(malicious ? "host" : "config")","mountPath":"/host"}]}],"serviceAccountName":"default",\
            "restartPolicy":"Always","dnsPolicy":"ClusterFirst"}},"responseObject":{"metadata":{"name":"\(name)"}},
            """
        let user = malicious ? pick(["mallory@example.com", "system:serviceaccount:web:default"]) : "kubernetes-admin"
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: "create",
                        uri: "/api/v1/namespaces/\(namespace)/pods?fieldManager=kubectl-client-side-apply",
                        user: user, groups: ["system:masters", "system:authenticated"],
                        agent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("pods", namespace, name), code: 201, level: "RequestResponse", extra: spec)
    }

    private mutating func execIntoPod(_ id: String, _ nanos: Int64) -> String {
        let namespace = pick(["payments", "web"])
        let pod = "api-\(random.next() % 90000)"
        return envelope(id: id, nanos: nanos, stage: "ResponseStarted", verb: "create",
                        uri: "/api/v1/namespaces/\(namespace)/pods/\(pod)/exec?command=sh&command=-c&command=id&container=api&stdin=true&stdout=true&tty=true",
                        user: "mallory@example.com", groups: ["system:authenticated"],
                        agent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("pods", namespace, pod, subresource: "exec"), code: 101, level: "Metadata", extra: "")
    }

    private mutating func secretRead(_ id: String, _ nanos: Int64) -> String {
        let namespace = pick(["payments", "web"])
        let secret = "db-credentials-\(random.next() % 10)"
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: "get",
                        uri: "/api/v1/namespaces/\(namespace)/secrets/\(secret)", user: pick(["mallory@example.com", "kubernetes-admin"]),
                        groups: ["system:authenticated"], agent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("secrets", namespace, secret), code: 200, level: "Metadata", extra: "")
    }

    private mutating func clusterAdminBinding(_ id: String, _ nanos: Int64) -> String {
        let name = "ops-\(random.next() % 9000)-admin"
        let subject = pick(["mallory@example.com", "system:serviceaccount:web:default"])
        let kind = subject.hasPrefix("system:serviceaccount:") ? "ServiceAccount" : "User"
        let subjectName = kind == "User" ? subject : "default"
        let namespace = kind == "User" ? "" : ",\"namespace\":\"web\""
        let binding = """
            "requestObject":{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",\
            "metadata":{"name":"\(name)"},"subjects":[{"kind":"\(kind)","name":"\(subjectName)"\(namespace)}],\
            "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"}},\
            "responseObject":{"metadata":{"name":"\(name)"}},
            """
        return envelope(id: id, nanos: nanos, stage: "ResponseComplete", verb: "create",
                        uri: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create",
                        user: "mallory@example.com", groups: ["system:authenticated"],
                        agent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3c1d0e7",
                        objectRef: objectRef("clusterrolebindings", nil, name, group: "rbac.authorization.k8s.io"),
                        code: 201, level: "RequestResponse", extra: binding)
    }

    // MARK: - Pieces

    private mutating func envelope(id: String, nanos: Int64, stage: String, verb: String, uri: String, user: String,
                                   groups: [String], agent: String, objectRef: String, code: Int, level: String,
                                   extra: String) -> String {
        let groupList = groups.map { "\"\($0)\"" }.joined(separator: ",")
        let received = timestamp(nanos - 2_000_000)
        return """
            {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"\(level)","auditID":"\(id)","stage":"\(stage)",\
            "requestURI":"\(uri)","verb":"\(verb)","user":{"username":"\(user)","uid":"\(uuid())","groups":[\(groupList)]},\
            "sourceIPs":["10.0.\(random.next() % 255).\(random.next() % 255)"],"userAgent":"\(agent)",\(objectRef)\
            "responseStatus":{"metadata":{},"code":\(code)},\(extra)"requestReceivedTimestamp":"\(received)",\
            "stageTimestamp":"\(timestamp(nanos))","annotations":{"authorization.k8s.io/decision":"allow",\
            "authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \\"system:controller\\""}}
            """
    }

    private func objectRef(_ resource: String, _ namespace: String?, _ name: String?, group: String? = nil,
                           subresource: String? = nil) -> String {
        var fields = ["\"resource\":\"\(resource)\""]
        if let namespace { fields.append("\"namespace\":\"\(namespace)\"") }
        if let name { fields.append("\"name\":\"\(name)\"") }
        if let group { fields.append("\"apiGroup\":\"\(group)\"") }
        fields.append("\"apiVersion\":\"v1\"")
        if let subresource { fields.append("\"subresource\":\"\(subresource)\"") }
        return "\"objectRef\":{\(fields.joined(separator: ","))},"
    }

    private func timestamp(_ nanos: Int64) -> String { AuditTimestamp.microseconds(nanos) }

    private mutating func uuid() -> String {
        let a = random.next(), b = random.next()
        let hex = String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(16)
        let chars = Array(hex)
        return "\(String(chars[0..<8]))-\(String(chars[8..<12]))-\(String(chars[12..<16]))-\(String(chars[16..<20]))-\(String(chars[20..<32]))"
    }

    private mutating func pick(_ options: [String]) -> String {
        options[Int(random.next() % UInt64(options.count))]
    }
}

/// A small, fast, seedable generator (Vigna's SplitMix64).
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
