import Foundation
import Testing
@testable import Rules

/// Loading rules files as Falco does: append, override, exceptions, sources,
/// versions, and every error message with its FILE:LINE:COL.
@Suite struct RulesLoaderTests {
    static let header = """
        - list: users
          items: [alice, bob]
        - macro: created
          condition: ka.verb=create
        - rule: Creates
          desc: a user creates something
          condition: created and ka.user.name in (users)
          output: created by %ka.user.name
          priority: WARNING
          source: k8s_audit
          tags: [k8s]

        """

    static func event(verb: String = "create", user: String = "alice", resource: String = "pods",
                      namespace: String = "default") -> String {
        """
        {"kind":"Event","auditID":"id-1","stage":"ResponseComplete","verb":"\(verb)","user":{"username":"\(user)"},\
        "objectRef":{"resource":"\(resource)","namespace":"\(namespace)"},"stageTimestamp":"2026-11-26T10:00:00Z"}
        """
    }

    /// Loads YAML text and returns what fires on the event.
    static func fires(_ yaml: String, _ event: String = event(), matching: RuleMatching = .all) throws -> [String] {
        try TestSupport.firing(RuleSet.parse(yaml: yaml, file: "test.yaml", matching: matching), event)
    }

    /// The diagnostics of YAML text that must not load.
    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try RuleSet.parse(yaml: yaml, file: "test.yaml")
            return []
        } catch let error as RulesLoadError {
            return error.diagnostics.filter { $0.severity == .error }.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    // MARK: - Append and override

    @Test func legacyAppendExtendsListsMacrosAndRules() throws {
        #expect(try Self.fires(Self.header, Self.event(user: "carol")).isEmpty)
        let appended = Self.header + """
            - list: users
              items: [carol]
              append: true
            - macro: created
              condition: or ka.verb=delete
              append: true
            - rule: Creates
              condition: and ka.target.namespace=default
              append: true

            """
        #expect(try Self.fires(appended, Self.event(user: "carol")) == ["Creates"])
        #expect(try Self.fires(appended, Self.event(verb: "delete")) == ["Creates"])
        #expect(try Self.fires(appended, Self.event(namespace: "prod")).isEmpty)
    }

    @Test func overrideAppendsAndReplaces() throws {
        let yaml = Self.header + """
            - list: users
              items: [dave]
              override:
                items: replace
            - rule: Creates
              condition: and ka.target.resource=pods
              output: (overridden)
              priority: critical
              tags: [extra]
              override:
                condition: append
                output: append
                priority: replace
                tags: append

            """
        let ruleSet = try RuleSet.parse(yaml: yaml, file: "test.yaml", matching: .all)
        #expect(try TestSupport.firing(ruleSet, Self.event(user: "alice")).isEmpty)
        let alerts = try TestSupport.alerts(ruleSet, Self.event(user: "dave"))
        #expect(alerts.map(\.rule) == ["Creates"])
        #expect(alerts.first?.priority == .critical)
        #expect(alerts.first?.output.hasSuffix("Critical created by dave (overridden)") == true)
        #expect(alerts.first?.tags == ["extra", "k8s"])
        #expect(try TestSupport.firing(ruleSet, Self.event(user: "dave", resource: "secrets")).isEmpty)
    }

    @Test func overrideReplacesEnabledAndMacroCondition() throws {
        let yaml = Self.header + """
            - macro: created
              condition: ka.verb=patch
              override:
                condition: replace
            - rule: Creates
              enabled: false
              override:
                enabled: replace

            """
        #expect(try Self.fires(yaml, Self.event(verb: "patch")).isEmpty)
        let reenabled = yaml + """
            - rule: Creates
              enabled: true

            """
        #expect(try Self.fires(reenabled, Self.event(verb: "patch")) == ["Creates"])
        #expect(try Self.fires(reenabled, Self.event(verb: "create")).isEmpty)
    }

    @Test func redefinitionReplacesInPlaceAndKeepsOrder() throws {
        let yaml = Self.header + """
            - rule: Second
              desc: d
              condition: ka.verb=create
              output: second
              priority: info
              source: k8s_audit
            - rule: Creates
              desc: redefined
              condition: ka.verb=create
              output: redefined
              priority: debug
              source: k8s_audit

            """
        let ruleSet = try RuleSet.parse(yaml: yaml, file: "test.yaml", matching: .first)
        // Falco evaluates in definition order, a redefinition keeping its first place; `first` stops there.
        let alerts = try TestSupport.alerts(ruleSet, Self.event(user: "zed"))
        #expect(alerts.map(\.rule) == ["Creates"])
        #expect(alerts.first?.priority == .debug)
        #expect(ruleSet.ruleNames == ["Creates", "Second"])
    }

    @Test func listsNestAndQuotedNamesStayLiteral() throws {
        let yaml = """
            - list: inner
              items: [x1]
            - list: outer
              items: [inner, x2]
            - rule: Nested
              desc: d
              condition: ka.user.name in (outer, "inner")
              output: o
              priority: notice
              source: k8s_audit

            """
        #expect(try Self.fires(yaml, Self.event(user: "x1")) == ["Nested"])
        #expect(try Self.fires(yaml, Self.event(user: "x2")) == ["Nested"])
        #expect(try Self.fires(yaml, Self.event(user: "inner")) == ["Nested"])
        #expect(try Self.fires(yaml, Self.event(user: "outer")).isEmpty)
    }

    // MARK: - Exceptions

    @Test func exceptionsBuildFalcoConditions() throws {
        let yaml = """
            - list: trusted
              items: [bob]
            - rule: Writes
              desc: d
              condition: ka.verb in (create, delete)
              output: o
              priority: warning
              source: k8s_audit
              exceptions:
                - name: trusted_users
                  fields: ka.user.name
                  values: [trusted, carol]
                - name: user_in_namespace
                  fields: [ka.user.name, ka.target.namespace]
                  values:
                    - [dave, kube-system]
                - name: verbs_on_resources
                  fields: [ka.verb, ka.target.resource]
                  comps: [=, in]
                  values:
                    - [delete, [configmaps, secrets]]

            """
        #expect(try Self.fires(yaml, Self.event(user: "alice")) == ["Writes"])
        #expect(try Self.fires(yaml, Self.event(user: "bob")).isEmpty)
        #expect(try Self.fires(yaml, Self.event(user: "carol")).isEmpty)
        #expect(try Self.fires(yaml, Self.event(user: "dave", namespace: "kube-system")).isEmpty)
        #expect(try Self.fires(yaml, Self.event(user: "dave", namespace: "default")) == ["Writes"])
        #expect(try Self.fires(yaml, Self.event(verb: "delete", resource: "secrets")).isEmpty)
        #expect(try Self.fires(yaml, Self.event(verb: "create", resource: "secrets")) == ["Writes"])

        let appended = yaml + """
            - rule: Writes
              exceptions:
                - name: trusted_users
                  values: [alice]
              override:
                exceptions: append

            """
        #expect(try Self.fires(appended, Self.event(user: "alice")).isEmpty)
    }

    @Test func exceptionsWrapAConditionWithOr() throws {
        // The newest Falco wraps the condition in parentheses before `and not (...)`.
        let yaml = """
            - rule: Either
              desc: d
              condition: ka.verb=create or ka.verb=delete
              output: o
              priority: warning
              source: k8s_audit
              exceptions:
                - name: skip_alice
                  fields: ka.user.name
                  values: [alice]

            """
        #expect(try Self.fires(yaml, Self.event(verb: "create", user: "alice")).isEmpty)
        #expect(try Self.fires(yaml, Self.event(verb: "delete", user: "alice")).isEmpty)
        #expect(try Self.fires(yaml, Self.event(verb: "delete", user: "bob")) == ["Either"])
    }

    // MARK: - Sources, versions, priorities

    @Test func otherSourcesAreSkippedAndCounted() throws {
        let yaml = Self.header + """
            - rule: Shell in container
              desc: syscall rule
              condition: evt.type=execve and proc.name=bash
              output: shell
              priority: warning
              source: syscall
            - rule: Shell in container
              condition: and container.id != host
              append: true
            - rule: No source given
              desc: falco reads this as syscall
              condition: ka.verb=create
              output: o
              priority: warning

            """
        let ruleSet = try RuleSet.parse(yaml: yaml, file: "test.yaml")
        #expect(ruleSet.statistics.rules == 1)
        #expect(ruleSet.statistics.skipped == ["syscall": 2])
        #expect(ruleSet.warnings.map(\.description) == [
            "test.yaml:21:3: warning: rule 'No source given' has no 'source'; Falco reads it as a syscall rule, so it is skipped: add 'source: k8s_audit'",
        ])
    }

    @Test func skipIfUnknownFilterSkipsWithAWarning() throws {
        let yaml = Self.header + """
            - rule: Uses a newer field
              desc: d
              condition: ka.verb=create and ka.some.future.field=1
              output: o
              priority: info
              source: k8s_audit
              skip-if-unknown-filter: true

            """
        let ruleSet = try RuleSet.parse(yaml: yaml, file: "test.yaml", matching: .all)
        #expect(ruleSet.ruleNames == ["Creates"])
        #expect(ruleSet.warnings.map(\.description) == [
            "test.yaml:12:3: warning: rule 'Uses a newer field' uses a field auditpipe does not know and has skip-if-unknown-filter: skipped",
        ])
        #expect(Self.errors(yaml.replacingOccurrences(of: "skip-if-unknown-filter: true", with: "skip-if-unknown-filter: false"))
            == ["test.yaml:14:33: rule 'Uses a newer field': unknown field 'ka.some.future.field'"])
    }

    @Test func unusedDefinitionsAndMisspeltListsWarn() throws {
        let yaml = Self.header + """
            - macro: never_used
              condition: ka.verb=get
            - list: unused_list
              items: [x]
            - rule: Typo
              desc: d
              condition: ka.user.name in (userz_list, "quoted_value", plain)
              output: o
              priority: info
              source: k8s_audit

            """
        let ruleSet = try RuleSet.parse(yaml: yaml, file: "test.yaml")
        #expect(ruleSet.warnings.map(\.description) == [
            "test.yaml:18:31: warning: rule 'Typo': 'userz_list' is not a defined list, so it is compared as a literal value (quote it to say that is meant)",
            "test.yaml:12:3: warning: macro 'never_used' is not used by any rule or macro",
            "test.yaml:14:3: warning: list 'unused_list' is not used by any rule, macro or list",
        ])
    }

    @Test func versionRequirementsWarnWhenTooHigh() throws {
        let yaml = """
            - required_engine_version: 0.99.0
            - required_plugin_versions:
                - name: k8saudit
                  version: 0.18.0
                - name: json
                  version: 0.9.0
                - name: k8saudit-eks
                  version: 0.1.0
                  alternatives:
                    - name: k8saudit
                      version: 0.10.0

            """ + Self.header
        let ruleSet = try RuleSet.parse(yaml: yaml, file: "test.yaml")
        #expect(ruleSet.warnings.map(\.description) == [
            "test.yaml:1:28: warning: rules require engine version 0.99.0, newer than this engine's 0.43.0; some rules may not load",
            "test.yaml:5:7: warning: rules require plugin json 0.9.0, auditpipe provides json 0.7.0",
        ])
        #expect(try RuleSet.parse(yaml: "- required_engine_version: 15\n" + Self.header).warnings.isEmpty)
    }

    @Test(arguments: [
        ("EMERGENCY", Priority.emergency), ("alert", .alert), ("Critical", .critical), ("ERROR", .error),
        ("warning", .warning), ("Notice", .notice), ("INFO", .informational), ("informational", .informational),
        ("debug", .debug),
    ])
    func prioritiesAreCaseInsensitive(text: String, priority: Priority) throws {
        let yaml = Self.header.replacingOccurrences(of: "priority: WARNING", with: "priority: \(text)")
        let alerts = try TestSupport.alerts(RuleSet.parse(yaml: yaml), Self.event())
        #expect(alerts.first?.priority == priority)
    }

    @Test func filesLoadInOrderAndLaterOnesOverride() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auditpipe-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = directory.appendingPathComponent("base.yaml")
        let local = directory.appendingPathComponent("local.yaml")
        try Self.header.write(to: base, atomically: true, encoding: .utf8)
        try "- list: users\n  items: [erin]\n  append: true\n".write(to: local, atomically: true, encoding: .utf8)
        let ruleSet = try RuleSet.load(files: [base.path, local.path])
        #expect(try TestSupport.firing(ruleSet, Self.event(user: "erin")) == ["Creates"])
        #expect(throws: RulesLoadError.self) { try RuleSet.load(files: [local.path, base.path]) }
    }

    // MARK: - Errors, each with FILE:LINE:COL

    @Test func errorsNameFileLineAndColumn() {
        let cases: [(String, [String])] = [
            ("- rule: r\n  desc: d\n  condition: ka.verb=create and\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:3:32: rule 'r': unexpected end of condition, expected a field, a macro or '('"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create and ka.nope=1\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:3:33: rule 'r': unknown field 'ka.nope'"]),
            ("- rule: r\n  desc: d\n  condition: >\n    ka.verb=create\n    and missing_macro\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:5:9: rule 'r': undefined macro 'missing_macro'"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create\n  output: user=%ka.usr.name\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:4:11: rule 'r': invalid formatting token '%ka.usr.name': unknown field"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create\n  output: o\n  priority: loud\n  source: k8s_audit\n",
             ["test.yaml:5:13: rule 'r' has priority 'loud'; expected one of emergency, alert, critical, error, warning, notice, informational (info), debug"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create\n  source: k8s_audit\n",
             ["test.yaml:1:3: rule 'r' has no 'output', 'priority'"]),
            ("- list: l\n  items: [a]\n  append: true\n",
             ["test.yaml:1:3: list 'l' appends to a list that is not defined before it"]),
            ("- macro: m\n  condition: ka.verb=get\n  override:\n    condition: append\n",
             ["test.yaml:1:3: macro 'm' overrides a macro that is not defined before it"]),
            ("- rule: r\n  condition: and x\n  append: true\n",
             ["test.yaml:1:3: rule 'r' appends to a rule that is not defined before it"]),
            ("- macro: m\n  condition: ka.verb=get\n  append: true\n  override:\n    condition: append\n",
             ["test.yaml:5:5: macro 'm' uses both 'override' and 'append: true'; use one of them"]),
            ("- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:4:14: macro 'b': macro 'a' refers to itself through a -> b -> a"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create\n  output: o\n  priority: info\n  source: k8s_audit\n- rule: r\n  priority: debug\n  override:\n    output: replace\n",
             ["test.yaml:10:5: rule 'r' overrides 'output' but does not give it"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create\n  output: o\n  priority: info\n  source: k8s_audit\n- rule: r\n  priority: debug\n  output: o2\n  override:\n    output: replace\n",
             ["test.yaml:8:3: rule 'r' gives 'priority' without an override for it (add 'priority: append' or 'priority: replace' to 'override')"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=create\n  output: o\n  priority: info\n  source: k8s_audit\n- rule: r\n  priority: debug\n  override:\n    priority: append\n",
             ["test.yaml:10:5: 'priority' of rule 'r' cannot be appended to; use 'replace'"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb in (a, b\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:3:25: rule 'r': missing ')' to close the value list"]),
            ("- rule: r\n  desc: d\n  condition: ka.user.groups = admins\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:3:14: rule 'r': '=' is not supported on the list field ka.user.groups: use in, intersects, pmatch or exists (or an index, as in ka.user.groups[0])"]),
            ("- rule: r\n  desc: d\n  condition: ka.uri.param = x\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:3:14: rule 'r': field 'ka.uri.param' needs an argument, as in ka.uri.param[...]"]),
            ("- rule: r\n  desc: d\n  condition: ka.response.code < abc\n  output: o\n  priority: info\n  source: k8s_audit\n",
             ["test.yaml:3:33: rule 'r': '<' needs a number, not 'abc'"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=get\n  output: o\n  priority: info\n  source: k8s_audit\n  exceptions:\n    - name: e\n      fields: [ka.verb, ka.user.name]\n      comps: [=]\n",
             ["test.yaml:10:14: exception 'e' of rule 'r' has 1 comps for 2 fields"]),
            ("- rule: r\n  desc: d\n  condition: ka.verb=get\n  output: o\n  priority: info\n  source: k8s_audit\n  exceptions:\n    - name: e\n      fields: ka.verb\n      comps: =\n      values: [get]\n",
             ["test.yaml:8:7: exception 'e' of rule 'r': with a single field, comps must be in, intersects or pmatch, not '='"]),
            ("- foo: bar\n",
             ["test.yaml:1:3: unknown item with keys foo; expected one of: rule, macro, list, required_engine_version, required_plugin_versions"]),
            ("- rule: r\n  desc: [unclosed\n",
             ["test.yaml:3:1: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence"]),
            ("rule: r\n",
             ["test.yaml:1:1: a rules file must be a YAML sequence of items (each a mapping with one of: rule, macro, list, required_engine_version, required_plugin_versions)"]),
        ]
        for (yaml, expected) in cases {
            #expect(Self.errors(yaml) == expected, "for:\n\(yaml)")
        }
    }

    @Test func everyErrorIsReportedNotOnlyTheFirst() {
        let yaml = """
            - rule: a
              desc: d
              condition: ka.nope=1
              output: o
              priority: info
              source: k8s_audit
            - rule: b
              desc: d
              condition: ka.verb=create and undefined_thing
              output: o
              priority: info
              source: k8s_audit

            """
        #expect(Self.errors(yaml) == [
            "test.yaml:3:14: rule 'a': unknown field 'ka.nope'",
            "test.yaml:9:33: rule 'b': undefined macro 'undefined_thing'",
        ])
    }
}
