import AuditModel
import Foundation
import Testing

/// Field extraction, one table row per (field, argument, event): every field of
/// ../shared/falco/k8saudit_fields.tsv has at least one row with a value.
@Suite struct FieldExtractionTests {
    /// One expected extraction. An empty `expected` means "no value".
    struct Case: CustomTestStringConvertible, Sendable {
        let field: String
        let argument: String?
        let event: String
        let expected: [String]
        let cluster: String
        let sourceLine: Int

        var testDescription: String { "\(argument.map { "\(field)[\($0)]" } ?? field) (line \(sourceLine))" }
    }

    static func row(_ field: String, _ argument: String? = nil, in event: String, _ expected: [String],
                    cluster: String = "", line: Int = #line) -> Case {
        Case(field: field, argument: argument, event: event, expected: expected, cluster: cluster, sourceLine: line)
    }

    // MARK: - Events

    /// A request with everything the event-level fields read.
    static let request = #"""
    {"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a-1","stage":"ResponseComplete",
     "stageTimestamp":"2024-05-06T07:08:09.123456789Z",
     "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed",
       "authentication.openshift.io/decision":"deny","authentication.openshift.io/username":"kube:admin",
       "validation.policy.admission.k8s.io/validation_failure":"[{\"message\":\"denied\"}]",
       "pod-security.kubernetes.io/audit-violations":"would violate restricted","cluster_name":"prod-eu"},
     "user":{"username":"alice","groups":["system:authenticated","dev"]},
     "impersonatedUser":{"username":"bob"},
     "verb":"create","userAgent":"kubectl/v1.29.0",
     "requestURI":"/api/v1/namespaces/default/pods/web/exec?command=ls&container=app&command=pwd&stdin=%2Fdev%2Fnull+x&na%6De=v&empty",
     "sourceIPs":["10.0.0.1","192.168.1.2"],
     "objectRef":{"resource":"pods","namespace":"default","name":"web","subresource":"exec"},
     "responseObject":{"metadata":{"name":"web-resp"}},
     "responseStatus":{"code":101,"reason":"Switching Protocols"}}
    """#

    /// A pod with containers, init and ephemeral containers, security contexts and volumes.
    static let pod = #"""
    {"auditID":"p-1","stage":"ResponseComplete","stageTimestamp":"2024-05-06T07:08:09Z",
     "objectRef":{"resource":"pods","namespace":"default","name":"web"},
     "responseObject":{"metadata":{"name":"web"}},
     "requestObject":{"spec":{
       "hostIPC":true,"hostNetwork":false,"hostPID":true,
       "securityContext":{"runAsUser":1000,"runAsGroup":3000,"fsGroup":2000,"supplementalGroups":[4000,5000]},
       "containers":[
         {"name":"app","image":"localhost:5000/team/app:1.2","command":["/bin/sh","-c"],"args":["echo","hi"],
          "ports":[{"containerPort":8080,"hostPort":80},{"containerPort":9090}],
          "securityContext":{"privileged":true,"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,
            "runAsUser":0,"runAsGroup":10,"procMount":"Unmasked","capabilities":{"add":["NET_ADMIN","SYS_TIME"]}}},
         {"name":"side","image":"docker.io/library/nginx:1.25@sha256:abcd","ports":[{"containerPort":443,"hostPort":8443}]}],
       "initContainers":[
         {"name":"init","image":"busybox@sha256:ef01","command":["sleep","1"],"args":["--x"],"ports":[{"hostPort":53}],
          "securityContext":{"privileged":false,"allowPrivilegeEscalation":true,"readOnlyRootFilesystem":false,
            "runAsUser":7,"runAsGroup":8,"procMount":"Default","capabilities":{"add":["SYS_ADMIN"]}}}],
       "ephemeralContainers":[
         {"name":"debug","image":"gcr.io/x/debugger:v1","command":["bash"],"args":["-l"],"ports":[{"hostPort":2222}],
          "securityContext":{"privileged":true,"allowPrivilegeEscalation":true,"readOnlyRootFilesystem":false,
            "runAsUser":99,"runAsGroup":97,"procMount":"Unmasked","capabilities":{"add":["SYS_PTRACE","NET_RAW"]}}},
         {"name":"bare","image":"alpine"}],
       "volumes":[{"name":"cfg","configMap":{"name":"c"}},
                  {"name":"sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}},
                  {"name":"flex","flexVolume":{"driver":"vendor/driver"}}]}}}
    """#

    /// A pod without any security context: effective ids default to 0.
    static let plainPod = #"""
    {"auditID":"p-2","objectRef":{"resource":"pods","subresource":""},"responseObject":{"metadata":{"name":"plain"}},
     "requestObject":{"spec":{"containers":[{"name":"a","image":"nginx"},{"name":"b","image":"nginx:latest"}]}}}
    """#

    static let binding = #"""
    {"auditID":"b-1","requestObject":{"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[
      {"kind":"User","name":"bob","apiGroup":"rbac.authorization.k8s.io"},
      {"kind":"ServiceAccount","name":"sa1","namespace":"kube-system"},
      {"kind":"ServiceAccount","name":"sa2"},
      {"kind":"Group","name":"devs"}]}}
    """#

    static let role = #"""
    {"auditID":"r-1","requestObject":{"rules":[
      {"apiGroups":[""],"resources":["pods","secrets"],"verbs":["get","list"]},
      {"apiGroups":["apps"],"resources":["deployments"],"verbs":["*"]},
      {"nonResourceURLs":["/healthz"],"verbs":["get"]}]}}
    """#

    static let service = #"""
    {"auditID":"s-1","requestObject":{"spec":{"type":"NodePort",
      "ports":[{"port":80,"protocol":"TCP","targetPort":8080},{"port":443}]}}}
    """#

    static let configmap = #"""
    {"auditID":"c-1","objectRef":{"resource":"configmaps","name":"cm1"},
     "requestObject":{"data":{"password":"hunter2","mode":"x"}}}
    """#

    /// Values of every JSON kind, and keys that need JSON-pointer escapes.
    static let kinds = #"""
    {"auditID":"k-1","user":{"username":null,"groups":["a",null,3,true,{"x":1,"b":[1,2]}]},
     "responseStatus":{"code":404},"x~y":{"a/b":null,"n":-7,"t":false,"arr":[{"k":"v"},{"k":"w"}],"":"empty key"}}
    """#

    static let offsetTime = #"{"auditID":"t-1","stageTimestamp":"2024-05-06T09:08:09.5+02:00"}"#

    // MARK: - The table

    static let eventFields: [Case] = [
        row("ka.auditid", in: request, ["a-1"]),
        row("ka.stage", in: request, ["ResponseComplete"]),
        row("ka.auth.decision", in: request, ["allow"]),
        row("ka.auth.reason", in: request, ["RBAC: allowed"]),
        row("ka.auth.openshift.decision", in: request, ["deny"]),
        row("ka.auth.openshift.username", in: request, ["kube:admin"]),
        row("ka.validations.admission.policy.failure", in: request, [#"[{"message":"denied"}]"#]),
        row("ka.security.pod.violations", in: request, ["would violate restricted"]),
        row("ka.user.name", in: request, ["alice"]),
        row("ka.user.groups", in: request, ["system:authenticated", "dev"]),
        row("ka.impuser.name", in: request, ["bob"]),
        row("ka.impuser.name", in: pod, []),
        row("ka.verb", in: request, ["create"]),
        row("ka.uri", in: request, [
            "/api/v1/namespaces/default/pods/web/exec?command=ls&container=app&command=pwd&stdin=%2Fdev%2Fnull+x&na%6De=v&empty",
        ]),
        row("ka.useragent", in: request, ["kubectl/v1.29.0"]),
        row("ka.target.name", in: request, ["web"]),
        row("ka.target.namespace", in: request, ["default"]),
        row("ka.target.resource", in: request, ["pods"]),
        row("ka.target.subresource", in: request, ["exec"]),
        row("ka.target.subresource", in: pod, []),
        row("ka.resp.name", in: request, ["web-resp"]),
        row("ka.response.code", in: request, ["101"]),
        row("ka.response.reason", in: request, ["Switching Protocols"]),
        row("ka.response.reason", in: kinds, []),
        // Documented meaning: the top-level sourceIPs (the plugin reads requestObject.rules[*].sourceIPs).
        row("ka.sourceips", in: request, ["10.0.0.1", "192.168.1.2"]),
        row("ka.sourceips", "1", in: request, ["192.168.1.2"]),
        row("ka.sourceips", "2", in: request, []),
        // Only for pods requests without a subresource.
        row("ka.target.pod.name", in: pod, ["web"]),
        row("ka.target.pod.name", in: plainPod, ["plain"]),
        row("ka.target.pod.name", in: request, []),
        row("ka.target.pod.name", in: configmap, []),
        // The caller's cluster wins over the annotation.
        row("ka.cluster.name", in: request, ["prod-eu"]),
        row("ka.cluster.name", in: request, ["given"], cluster: "given"),
        row("ka.cluster.name", in: pod, ["given"], cluster: "given"),
        row("ka.cluster.name", in: pod, []),
    ]

    static let uriParams: [Case] = [
        row("ka.uri.param", "command", in: request, ["ls"]),  // first occurrence
        row("ka.uri.param", "container", in: request, ["app"]),
        row("ka.uri.param", "stdin", in: request, ["/dev/null x"]),  // %XX and + decoded
        row("ka.uri.param", "name", in: request, ["v"]),  // the key is decoded too
        row("ka.uri.param", "empty", in: request, [""]),
        row("ka.uri.param", "missing", in: request, []),
        row("ka.uri.param", "a", in: #"{"requestURI":"/x?a=%zz"}"#, []),  // bad escape: no value
        row("ka.uri.param", "a", in: #"{"requestURI":"/x"}"#, []),
        row("ka.uri.param", "a", in: #"{"requestURI":"/x?b=1&a=2#a=3"}"#, ["2"]),
    ]

    static let requestObjectFields: [Case] = [
        row("ka.req.binding.subjects", in: binding, [
            #"{"kind":"User","name":"bob","apiGroup":"rbac.authorization.k8s.io"}"#,
            #"{"kind":"ServiceAccount","name":"sa1","namespace":"kube-system"}"#,
            #"{"kind":"ServiceAccount","name":"sa2"}"#,
            #"{"kind":"Group","name":"devs"}"#,
        ]),
        row("ka.req.binding.subjects.user_names", in: binding, ["bob"]),
        row("ka.req.binding.subjects.serviceaccount_names", in: binding, ["sa1", "sa2"]),
        row("ka.req.binding.subjects.serviceaccount_ns_names", in: binding, ["kube-system:sa1"]),
        row("ka.req.binding.subjects.group_names", in: binding, ["devs"]),
        row("ka.req.binding.subjects.group_names", in: role, []),
        row("ka.req.binding.role", in: binding, ["cluster-admin"]),
        row("ka.req.binding.subject.has_name", "anyone", in: binding, ["true"]),
        row("ka.req.binding.subject.has_name", "anyone", in: role, ["true"]),
        row("ka.req.configmap.name", in: configmap, ["cm1"]),
        row("ka.req.configmap.obj", in: configmap, [#"{"password":"hunter2","mode":"x"}"#]),
        row("ka.req.role.rules", in: role, [
            #"{"apiGroups":[""],"resources":["pods","secrets"],"verbs":["get","list"]}"#,
            #"{"apiGroups":["apps"],"resources":["deployments"],"verbs":["*"]}"#,
            #"{"nonResourceURLs":["/healthz"],"verbs":["get"]}"#,
        ]),
        row("ka.req.role.rules.apiGroups", in: role, ["", "apps"]),
        row("ka.req.role.rules.apiGroups", "1", in: role, ["apps"]),
        row("ka.req.role.rules.apiGroups", "3", in: role, []),
        row("ka.req.role.rules.resources", in: role, ["pods", "secrets", "deployments"]),
        row("ka.req.role.rules.verbs", in: role, ["get", "list", "*", "get"]),
        row("ka.req.role.rules.nonResourceURLs", in: role, ["/healthz"]),
        row("ka.req.role.rules.nonResourceURLs", "0", in: role, []),
        row("ka.req.service.type", in: service, ["NodePort"]),
        row("ka.req.service.ports", in: service, [#"[{"port":80,"protocol":"TCP","targetPort":8080},{"port":443}]"#]),
        row("ka.req.service.ports", "1", in: service, [#"{"port":443}"#]),
        row("ka.req.service.ports", "2", in: service, []),
        row("ka.req.pod.host_ipc", in: pod, ["true"]),
        row("ka.req.pod.host_network", in: pod, ["false"]),
        row("ka.req.container.host_network", in: pod, ["false"]),
        row("ka.req.pod.host_network", in: plainPod, []),
        row("ka.req.pod.host_pid", in: pod, ["true"]),
        row("ka.req.pod.run_as_user", in: pod, ["1000"]),
        row("ka.req.pod.run_as_group", in: pod, ["3000"]),
        row("ka.req.pod.fs_group", in: pod, ["2000"]),
        row("ka.req.pod.supplemental_groups", in: pod, ["4000", "5000"]),
        row("ka.req.pod.run_as_user", in: plainPod, []),
    ]

    static let containerFields: [Case] = [
        row("ka.req.pod.containers.name", in: pod, ["app", "side"]),
        row("ka.req.pod.containers.name", "1", in: pod, ["side"]),
        row("ka.req.pod.containers.name", "2", in: pod, []),
        row("ka.req.pod.containers.image", in: pod, ["localhost:5000/team/app:1.2", "docker.io/library/nginx:1.25@sha256:abcd"]),
        row("ka.req.pod.containers.image", "0", in: pod, ["localhost:5000/team/app:1.2"]),
        // Tag and digest go, a registry port stays.
        row("ka.req.pod.containers.image.repository", in: pod, ["localhost:5000/team/app", "docker.io/library/nginx"]),
        row("ka.req.pod.containers.image.repository", in: plainPod, ["nginx", "nginx"]),
        row("ka.req.container.image", in: pod, ["localhost:5000/team/app:1.2"]),
        row("ka.req.container.image.repository", in: pod, ["localhost:5000/team/app"]),
        row("ka.req.container.image", in: binding, []),
        row("ka.req.pod.containers.command", in: pod, ["/bin/sh -c"]),  // containers without one are skipped
        row("ka.req.pod.containers.args", in: pod, ["echo hi"]),
        row("ka.req.pod.containers.args", "1", in: pod, []),
        // hostPort only: containerPort 8080/9090/443 never show.
        row("ka.req.pod.containers.host_port", in: pod, ["80", "8443"]),
        row("ka.req.pod.containers.host_port", "1", in: pod, ["8443"]),
        row("ka.req.pod.containers.privileged", in: pod, ["true"]),
        row("ka.req.container.privileged", in: pod, ["true"]),
        row("ka.req.container.privileged", in: plainPod, ["false"]),
        row("ka.req.pod.containers.allow_privilege_escalation", in: pod, ["false"]),
        row("ka.req.pod.containers.read_only_fs", in: pod, ["true"]),
        row("ka.req.pod.containers.run_as_user", in: pod, ["0"]),
        row("ka.req.pod.containers.run_as_group", in: pod, ["10"]),
        row("ka.req.pod.containers.proc_mount", in: pod, ["Unmasked"]),
        row("ka.req.pod.containers.proc_mount", "1", in: pod, []),
        // Own securityContext value, else the pod's, else 0.
        row("ka.req.pod.containers.eff_run_as_user", in: pod, ["0", "1000"]),
        row("ka.req.pod.containers.eff_run_as_user", "1", in: pod, ["1000"]),
        row("ka.req.pod.containers.eff_run_as_user", in: plainPod, ["0", "0"]),
        row("ka.req.pod.containers.eff_run_as_user", in: binding, []),
        row("ka.req.pod.containers.eff_run_as_group", in: pod, ["10", "3000"]),
        row("ka.req.pod.containers.eff_run_as_group", in: plainPod, ["0", "0"]),
        // One value per capability.
        row("ka.req.pod.containers.add_capabilities", in: pod, ["NET_ADMIN", "SYS_TIME"]),
        row("ka.req.pod.containers.add_capabilities", "1", in: pod, []),
        row("ka.req.pod.initContainers.name", in: pod, ["init"]),
        row("ka.req.pod.initContainers.image", in: pod, ["busybox@sha256:ef01"]),
        row("ka.req.pod.initContainers.image.repository", in: pod, ["busybox"]),
        row("ka.req.pod.initContainers.command", in: pod, ["sleep 1"]),
        row("ka.req.pod.initContainers.args", in: pod, ["--x"]),
        row("ka.req.pod.initContainers.privileged", in: pod, ["false"]),
        row("ka.req.pod.initContainers.allow_privilege_escalation", in: pod, ["true"]),
        row("ka.req.pod.initContainers.read_only_fs", in: pod, ["false"]),
        row("ka.req.pod.initContainers.run_as_user", in: pod, ["7"]),
        row("ka.req.pod.initContainers.eff_run_as_user", in: pod, ["7"]),
        row("ka.req.pod.initContainers.run_as_group", in: pod, ["8"]),
        row("ka.req.pod.initContainers.eff_run_as_group", in: pod, ["8"]),
        row("ka.req.pod.initContainers.proc_mount", in: pod, ["Default"]),
        row("ka.req.pod.initContainers.add_capabilities", in: pod, ["SYS_ADMIN"]),
        row("ka.req.pod.initContainers.host_port", in: pod, ["53"]),
        row("ka.req.pod.initContainers.name", in: plainPod, []),
        row("ka.req.pod.ephemeralContainers.name", in: pod, ["debug", "bare"]),
        row("ka.req.pod.ephemeralContainers.image", in: pod, ["gcr.io/x/debugger:v1", "alpine"]),
        row("ka.req.pod.ephemeralContainers.image.repository", in: pod, ["gcr.io/x/debugger", "alpine"]),
        row("ka.req.pod.ephemeralContainers.command", in: pod, ["bash"]),
        row("ka.req.pod.ephemeralContainers.args", in: pod, ["-l"]),
        row("ka.req.pod.ephemeralContainers.privileged", in: pod, ["true"]),
        row("ka.req.pod.ephemeralContainers.allow_privilege_escalation", in: pod, ["true"]),
        row("ka.req.pod.ephemeralContainers.read_only_fs", in: pod, ["false"]),
        row("ka.req.pod.ephemeralContainers.run_as_user", in: pod, ["99"]),
        row("ka.req.pod.ephemeralContainers.eff_run_as_user", in: pod, ["99", "1000"]),
        row("ka.req.pod.ephemeralContainers.run_as_group", in: pod, ["97"]),
        row("ka.req.pod.ephemeralContainers.run_as_group", "1", in: pod, []),
        row("ka.req.pod.ephemeralContainers.eff_run_as_group", in: pod, ["97", "3000"]),
        row("ka.req.pod.ephemeralContainers.proc_mount", in: pod, ["Unmasked"]),
        row("ka.req.pod.ephemeralContainers.add_capabilities", in: pod, ["SYS_PTRACE", "NET_RAW"]),
        row("ka.req.pod.ephemeralContainers.add_capabilities", "0", in: pod, ["SYS_PTRACE", "NET_RAW"]),
        row("ka.req.pod.ephemeralContainers.host_port", in: pod, ["2222"]),
    ]

    static let volumeFields: [Case] = [
        row("ka.req.pod.volumes.hostpath", in: pod, ["/var/run/docker.sock"]),
        row("ka.req.pod.volumes.hostpath", "0", in: pod, []),
        row("ka.req.pod.volumes.hostpath", "1", in: pod, ["/var/run/docker.sock"]),
        row("ka.req.pod.volumes.flexvolume_driver", in: pod, ["vendor/driver"]),
        row("ka.req.pod.volumes.volume_type", in: pod, ["configMap", "hostPath", "flexVolume"]),
        row("ka.req.pod.volumes.volume_type", "2", in: pod, ["flexVolume"]),
        // Every volume is checked (the hostPath one is not volumes[0]); a trailing * is a prefix.
        row("ka.req.volume.hostpath", "/var/run/docker.sock", in: pod, ["true"]),
        row("ka.req.volume.hostpath", "/var/run*", in: pod, ["true"]),
        row("ka.req.volume.hostpath", "/var/run", in: pod, ["false"]),
        row("ka.req.volume.hostpath", "/etc*", in: pod, ["false"]),
        row("ka.req.volume.hostpath", "/etc", in: plainPod, []),
    ]

    static let jsonFields: [Case] = [
        row("jevt.value", "/user/username", in: request, ["alice"]),
        row("jevt.value", "user/groups/1", in: request, ["dev"]),  // the leading / is optional
        row("jevt.value", "/user/groups/2", in: request, []),
        row("jevt.value", "/annotations/authorization.k8s.io~1decision", in: request, ["allow"]),
        row("jevt.value", "/x~0y/a~1b", in: kinds, ["null"]),
        row("jevt.value", "/x~0y/n", in: kinds, ["-7"]),
        row("jevt.value", "/x~0y/t", in: kinds, ["false"]),
        row("jevt.value", "/x~0y/arr/1/k", in: kinds, ["w"]),
        row("jevt.value", "/x~0y/arr", in: kinds, [#"[{"k":"v"},{"k":"w"}]"#]),
        row("jevt.value", "/x~0y/", in: kinds, ["empty key"]),
        row("jevt.value", "/responseStatus/code", in: kinds, ["404"]),
        row("jevt.value", "/nothing/here", in: kinds, []),
        row("jevt.obj", in: "  \n" + #"{"auditID": "o" , "verb":"get"}"# + " \n", [#"{"auditID": "o" , "verb":"get"}"#]),
        row("jevt.rawtime", in: request, ["1714979289123456789"]),
        row("jevt.rawtime", in: kinds, []),
        row("jevt.time", in: request, ["07:08:09.123456789"]),
        row("jevt.time", in: offsetTime, ["07:08:09.500000000"]),
        row("jevt.time.iso8601", in: request, ["2024-05-06T07:08:09.123456789Z"]),
        row("jevt.time.iso8601", in: offsetTime, ["2024-05-06T07:08:09.500000000Z"]),
    ]

    /// Value conversions: null is "null", numbers and booleans are their text, objects compact JSON.
    static let conversions: [Case] = [
        row("ka.user.name", in: kinds, ["null"]),
        row("ka.user.groups", in: kinds, ["a", "null", "3", "true", #"{"x":1,"b":[1,2]}"#]),
        row("ka.response.code", in: kinds, ["404"]),
        row("ka.req.configmap.obj", in: #"{"requestObject":{"data":{ "k" : [ 1 , "two" ] , "e" : { } }}}"#,
            [#"{"k":[1,"two"],"e":{}}"#]),
    ]

    static let allCases = eventFields + uriParams + requestObjectFields + containerFields + volumeFields
        + jsonFields + conversions

    @Test(arguments: allCases)
    func extracts(_ row: Case) throws {
        let values = try FieldProbe.values(row.field, argument: row.argument, in: row.event, cluster: row.cluster)
        #expect(values == row.expected)
    }

    // MARK: - The reference field list

    struct ReferenceField {
        let name: String
        let type: String
        let isList: Bool
        let argument: String
    }

    static func referenceFields() throws -> [ReferenceField] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/falco/k8saudit_fields.tsv")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return ReferenceField(name: columns[0], type: columns[1], isList: columns[2] == "true",
                                  argument: columns.count > 3 ? columns[3] : "")
        }
    }

    @Test func catalogMatchesReferenceFieldList() throws {
        let reference = try Self.referenceFields()
        #expect(reference.count > 100)
        for field in reference {
            guard let definition = FieldCatalog.definitions[field.name] else {
                Issue.record("\(field.name) is not in FieldCatalog.definitions")
                continue
            }
            #expect(definition.isList == field.isList, "\(field.name): list-ness")
            #expect(definition.type.rawValue == field.type, "\(field.name): type")
            let expected: FieldArgumentKind = switch field.argument {
            case "IsIndex": .index
            case "IsRequired,IsKey": .requiredKey
            default: .none
            }
            #expect(definition.argument == expected, "\(field.name): argument kind")
        }
    }

    @Test func everyReferenceFieldHasAValueInTheTable() throws {
        let withValue = Set(Self.allCases.filter { !$0.expected.isEmpty }.map(\.field))
        let missing = try Self.referenceFields().map(\.name).filter { !withValue.contains($0) }
        #expect(missing.isEmpty, "fields without an extraction test: \(missing)")
    }

    /// On an empty object nothing has a value, except the fields that always do.
    @Test func emptyEventHasNoValues() throws {
        let alwaysPresent: [String: [String]] = ["jevt.obj": ["{}"], "evt.source": ["k8s_audit"],
                                                 "ka.req.binding.subject.has_name": ["true"]]
        for (name, definition) in FieldCatalog.definitions {
            let argument = definition.argument == .requiredKey ? "key" : nil
            let values = try FieldProbe.values(name, argument: argument, in: "{}")
            #expect(values == alwaysPresent[name, default: []], "\(name)")
        }
    }

    // MARK: - Bad arguments

    @Test(arguments: [
        ("ka.nope", nil), ("jevt.values", "/a"),  // unknown fields
        ("ka.uri.param", nil), ("jevt.value", nil), ("ka.req.volume.hostpath", nil),  // required key missing
        ("ka.uri.param", ""),
        ("ka.verb", "0"), ("jevt.obj", "x"), ("ka.user.groups", "0"),  // no argument allowed
        ("ka.req.pod.containers.image", "x"), ("ka.sourceips", "-1"), ("ka.req.service.ports", "01"),  // bad indexes
        ("ka.req.role.rules.verbs", " 1"), ("ka.req.pod.volumes.hostpath", "1.0"), ("ka.req.pod.containers.name", ""),
    ] as [(String, String?)])
    func rejectsBadArgument(_ field: String, _ argument: String?) {
        #expect(throws: FieldError.self) {
            try FieldCatalog().extractor(name: field, argument: argument)
        }
    }
}
