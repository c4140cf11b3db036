import Testing
@testable import Rules

/// Condition operators and logic, one table row per condition: whether a
/// one-rule set built around it fires on `event`.
@Suite struct OperatorTests {
    static let event = #"""
    {"kind":"Event","auditID":"op-1","stage":"ResponseComplete","stageTimestamp":"2024-05-06T07:08:09.123456789Z",
     "verb":"create","requestURI":"/api/v1/namespaces/default/pods?dryRun=All",
     "user":{"username":"system:serviceaccount:kube-system:Admin","groups":["system:authenticated","dev team"]},
     "objectRef":{"resource":"pods","namespace":"kube-system","name":"web-1"},
     "responseStatus":{"code":201},"userAgent":"kubectl/v1.29.0 (linux/amd64)",
     "requestObject":{"spec":{
       "volumes":[{"name":"a","hostPath":{"path":"/var/lib/kubelet"}},{"name":"b","hostPath":{"path":"/etc/ssl/"}}],
       "containers":[{"name":"c1","image":"nginx:1","securityContext":{"capabilities":{"add":["NET_ADMIN","SYS_TIME"]}}},
                     {"name":"c2","image":"busybox"}]}}}
    """#

    /// Lists and macros every probe rule can use.
    static let definitions = """
    - list: group_list
      items: [system:authenticated, "dev team"]
    - list: nested_list
      items: [group_list, extra]
    - list: path_list
      items: [/var/lib, /etc]
    - macro: is_create
      condition: ka.verb = create
    - macro: create_pod
      condition: is_create and ka.target.resource = pods
    - macro: create_or_get
      condition: ka.verb = create or ka.verb = get

    """

    static func ruleSet(_ condition: String) throws -> RuleSet {
        let yaml = definitions + """
        - rule: probe
          desc: probe
          condition: |-
            \(condition)
          output: probe %ka.verb
          priority: WARNING
          source: k8s_audit
        """
        return try RuleSet.parse(yaml: yaml, matching: .all)
    }

    // MARK: - Tables

    static let equality: [(String, Bool)] = [
        ("ka.verb = create", true), ("ka.verb == create", true), ("ka.verb=create", true),
        ("ka.verb = get", false), ("ka.verb = Create", false),
        ("ka.verb != get", true), ("ka.verb != create", false),
        (#"ka.target.name = "web-1""#, true), ("ka.target.name = 'web-1'", true),
    ]

    /// Numbers compare as numbers when both sides are numbers, otherwise byte-wise.
    static let ordering: [(String, Bool)] = [
        ("ka.response.code >= 200", true), ("ka.response.code >= 201", true), ("ka.response.code > 201", false),
        ("ka.response.code < 300", true), ("ka.response.code <= 200", false),
        ("ka.response.code < 1000", true),  // byte-wise "201" > "1000"
        ("ka.response.code > 200.5", true), ("ka.response.code > 0xC8", true),
        // Values that are not numbers compare byte-wise: "create" > "5", "web-1" > "9".
        ("ka.verb > 5", true), ("ka.verb <= 5", false), ("ka.target.name >= 9", true),
        // jevt.rawtime is a uint64 (stageTimestamp in ns): exact, beyond 2^53.
        ("jevt.rawtime = 1714979289123456789", true), ("jevt.rawtime = 1714979289123456788", false),
        ("jevt.rawtime != 1714979289123456788", true), ("jevt.rawtime > 1714979289123456788", true),
        ("jevt.rawtime < 1714979289123456790", true), ("jevt.rawtime >= 1714979289123456789", true),
        ("jevt.rawtime < 1714979289123456789", false),
    ]

    static let strings: [(String, Bool)] = [
        (#"ka.useragent contains "(linux/amd64)""#, true), ("ka.useragent contains v1.29", true),
        ("ka.useragent contains kubelet", false), (#"ka.useragent contains """#, true),
        ("ka.user.name contains admin", false), ("ka.user.name icontains ADMIN", true),
        ("ka.user.name icontains KUBE-system", true), ("ka.user.name icontains root", false),
        ("ka.user.name startswith system:serviceaccount:", true), ("ka.user.name startswith kube", false),
        ("ka.user.name endswith :Admin", true), ("ka.user.name endswith :admin", false),
        (#"ka.uri glob "/api/v1/*/pods?dry*""#, true), ("ka.uri glob *", true),
        ("ka.target.name glob web-?", true), ("ka.target.name glob web", false),
        (#"ka.target.name glob "web-[0-9]""#, true), (#"ka.target.name glob "web-[!0-9]""#, false),
        ("ka.target.name glob Web-*", false), ("ka.target.name iglob WEB-*", true), ("ka.target.name iglob W?B-[1]", true),
        // Hex operands: "Admin", "admin", "system".
        ("ka.user.name bcontains 41646d696e", true), ("ka.user.name bcontains 61646d696e", false),
        ("ka.user.name bstartswith 73797374656D", true), ("ka.user.name bstartswith 41646d696e", false),
    ]

    /// pmatch: component-wise path prefixes; on list fields every value must match.
    static let paths: [(String, Bool)] = [
        ("ka.req.pod.volumes.hostpath pmatch (/var/lib, /etc)", true),
        ("ka.req.pod.volumes.hostpath pmatch (/var/lib)", false),
        ("ka.req.pod.volumes.hostpath pmatch (/var/lib/, /etc/ssl)", true),
        ("ka.req.pod.volumes.hostpath pmatch (/var/lib/kube, /etc)", false),
        ("ka.req.pod.volumes.hostpath pmatch (path_list)", true),
        ("ka.req.pod.volumes.hostpath pmatch (/)", true),
        ("ka.uri pmatch (/api/v1/namespaces)", true), ("ka.target.namespace pmatch (kube)", false),
    ]

    /// in needs every value of a list field in the set; intersects and the rest need one.
    static let sets: [(String, Bool)] = [
        ("ka.verb in (get, create)", true), ("ka.verb in(get,create)", true), ("ka.verb in create", true),
        ("ka.verb in (get, delete)", false), ("ka.verb in ()", false), ("ka.verb intersects (create)", true),
        (#"ka.useragent in ("kubectl/v1.29.0 (linux/amd64)", other)"#, true),
        (#"ka.user.groups in (system:authenticated, "dev team")"#, true),
        ("ka.user.groups in (system:authenticated)", false),
        ("ka.user.groups in (group_list)", true), ("ka.user.groups in (nested_list)", true),
        ("ka.user.groups in (other, group_list)", true), (#"ka.user.groups in ("group_list")"#, false),
        (#"ka.user.groups intersects ("dev team")"#, true), ("ka.user.groups intersects (dev)", false),
        ("ka.user.groups intersects (nobody, system:authenticated)", true), ("ka.user.groups exists", true),
        ("ka.req.pod.containers.image intersects (busybox)", true), ("ka.req.pod.containers.image in (busybox)", false),
        ("ka.req.pod.containers.image[1] = busybox", true), ("ka.req.pod.containers.image[1] in (busybox)", true),
        // An index can still leave several values (c1 adds two capabilities): any of them will do.
        ("ka.req.pod.containers.add_capabilities[0] = SYS_TIME", true),
        ("ka.req.pod.containers.add_capabilities[0] != SYS_TIME", true),
        ("ka.req.pod.containers.add_capabilities[0] contains ADMIN", true),
        ("ka.req.pod.containers.add_capabilities[0] startswith SYS", true),
        ("ka.req.pod.containers.add_capabilities[0] endswith _RAW", false),
        (#"ka.req.pod.containers.add_capabilities[0] glob "NET_*""#, true),
        ("ka.req.pod.containers.add_capabilities[0] in (SYS_TIME)", false),
        ("ka.req.pod.containers.add_capabilities[0] in (NET_ADMIN, SYS_TIME)", true),
        ("ka.req.pod.containers.add_capabilities[0] intersects (SYS_TIME)", true),
        ("ka.req.pod.containers.add_capabilities[0] pmatch (NET_ADMIN)", false),
        ("ka.req.pod.containers.add_capabilities[1] exists", false),
    ]

    /// A field without a value fails every comparison; `not` of that is true.
    static let missing: [(String, Bool)] = [
        ("ka.impuser.name exists", false), ("not ka.impuser.name exists", true),
        ("ka.impuser.name = x", false), ("ka.impuser.name != x", false),
        ("not ka.impuser.name = x", true), ("not ka.impuser.name != x", true),
        ("ka.impuser.name in (x)", false), ("not ka.impuser.name in (x)", true),
        ("ka.impuser.name intersects (x)", false), (#"ka.impuser.name contains """#, false),
        (#"ka.impuser.name startswith """#, false), ("ka.impuser.name glob *", false),
        ("ka.impuser.name < 5", false), ("ka.impuser.name >= 0", false), ("ka.impuser.name pmatch (/)", false),
        ("ka.impuser.name bcontains 00", false), ("ka.sourceips in (x)", false), ("ka.sourceips intersects (x)", false),
        ("ka.target.subresource != exec", false),
    ]

    /// not binds tighter than and, and tighter than or; macros are one operand.
    static let logic: [(String, Bool)] = [
        ("ka.verb = create or ka.verb = get and ka.verb = delete", true),
        ("ka.verb = get and ka.verb = get or ka.verb = create", true),
        ("(ka.verb = create or ka.verb = get) and ka.verb = delete", false),
        ("not ka.verb = get and ka.verb = get", false), ("not ka.verb = create or ka.verb = create", true),
        ("not (ka.verb = get or ka.verb = delete)", true), ("not(ka.verb = get)", true),
        ("not not ka.verb = create", true), ("((ka.verb = create))", true),
        ("ka.verb = create and (ka.verb = get or ka.target.resource = pods)", true),
        ("ka.verb = get or not ka.verb = get and ka.target.resource = secrets", false),
        ("is_create", true), ("not is_create", false), ("create_pod", true), ("create_pod and not is_create", false),
        ("create_or_get and ka.verb = delete", false), ("ka.verb = delete or create_or_get", true),
        ("not create_or_get", false),
    ]

    static let all = equality + ordering + strings + paths + sets + missing + logic

    @Test(arguments: all)
    func evaluates(_ condition: String, _ expected: Bool) throws {
        let fired = try TestSupport.firing(Self.ruleSet(condition), Self.event)
        #expect(fired == (expected ? ["probe"] : []), "\(condition)")
    }

    @Test(arguments: [
        "ka.nope = x", "ka.verb[0] = x", "ka.uri.param = x", "ka.req.pod.containers.image[x] = y",
        "ka.user.name bcontains xyz0", "ka.user.name bcontains abc", "jevt.rawtime = abc",
        "undefined_macro", "ka.verb = get and", "ka.verb contains (a, b)", "(ka.verb = get", "ka.verb",
        "ka.verb in (a,)",
    ])
    func rejects(_ condition: String) {
        #expect(throws: RulesLoadError.self, "\(condition)") { try Self.ruleSet(condition) }
    }
}
