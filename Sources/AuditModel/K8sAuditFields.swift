/// The `ka.*` fields of Falco's k8saudit plugin, read from the audit event's JSON.
///
/// Values follow the plugin: strings as they are, numbers and booleans as text,
/// objects as compact JSON, and a missing value means "no value" (so every
/// comparison on it is false). Where the plugin contradicts its own field
/// documentation because of a bug (ka.sourceips, eff_run_as_*, the repository
/// of images with a registry port, ka.req.volume.hostpath), the documented
/// meaning is implemented; the README lists these.
enum K8sAuditFields {
    static var all: [FieldDefinition] {
        scalarFields + requestFields + containerFields + volumeAndServiceFields + specialFields
    }

    // MARK: - Building blocks

    static func definition(_ name: String, list: Bool = false, argument: FieldArgumentKind = .none,
                           _ description: String,
                           make: @escaping @Sendable (FieldArgumentValue) throws -> FieldBody) -> FieldDefinition {
        FieldDefinition(name: name, type: .string, isList: list, argument: argument, description: description, make: make)
    }

    /// A field that is the value at one path.
    static func path(_ name: String, _ keys: [String], _ description: String) -> FieldDefinition {
        let path = JSONPath(keys: keys)
        return definition(name, description) { _ in { context in context.emitText(of: context.resolve(path)) } }
    }

    /// A list field that is the elements of the array at one path.
    static func elements(_ name: String, _ keys: [String], _ description: String) -> FieldDefinition {
        let path = JSONPath(keys: keys)
        return definition(name, list: true, description) { _ in { context in context.emitElements(of: context.resolve(path)) } }
    }

    static func annotation(_ name: String, _ key: String, _ description: String) -> FieldDefinition {
        path(name, ["annotations", key], description)
    }

    /// The elements of an array, or only element `index` when the field has an index argument.
    static func selected(_ context: EventContext, _ array: JSONDocument.Node, _ index: Int?) -> ArraySlice<Int32> {
        let elements = context.document.elements(array)
        guard let index else { return elements }
        return index < elements.count ? elements[(elements.startIndex + index)...(elements.startIndex + index)] : []
    }

    static func index(_ argument: FieldArgumentValue) -> Int? {
        if case .index(let index) = argument { return index }
        return nil
    }

    // MARK: - Fields of the event itself

    static var scalarFields: [FieldDefinition] {
        [
            path("ka.auditid", ["auditID"], "The audit event's unique id"),
            path("ka.stage", ["stage"], "The stage of the request (RequestReceived, ResponseStarted, ResponseComplete, Panic)"),
            annotation("ka.auth.decision", "authorization.k8s.io/decision", "The authorization decision (allow, forbid)"),
            annotation("ka.auth.reason", "authorization.k8s.io/reason", "Why the request was authorized or not"),
            annotation("ka.auth.openshift.decision", "authentication.openshift.io/decision",
                       "The OpenShift authentication decision (OpenShift clusters only)"),
            annotation("ka.auth.openshift.username", "authentication.openshift.io/username",
                       "The user name OpenShift authenticated (OpenShift clusters only)"),
            annotation("ka.validations.admission.policy.failure", "validation.policy.admission.k8s.io/validation_failure",
                       "Why a ValidatingAdmissionPolicy rejected the request"),
            annotation("ka.security.pod.violations", "pod-security.kubernetes.io/audit-violations",
                       "The Pod Security admission violations of the request"),
            path("ka.user.name", ["user", "username"], "The user that made the request"),
            elements("ka.user.groups", ["user", "groups"], "The groups of the user that made the request"),
            path("ka.impuser.name", ["impersonatedUser", "username"], "The user being impersonated"),
            path("ka.verb", ["verb"], "The request's verb (get, list, create, patch, ...)"),
            path("ka.uri", ["requestURI"], "The request URI as the client sent it"),
            path("ka.target.name", ["objectRef", "name"], "The name of the object the request is about"),
            path("ka.target.namespace", ["objectRef", "namespace"], "The namespace of the object the request is about"),
            path("ka.target.resource", ["objectRef", "resource"], "The resource of the object the request is about"),
            path("ka.target.subresource", ["objectRef", "subresource"], "The subresource the request is about (exec, log, ...)"),
            path("ka.resp.name", ["responseObject", "metadata", "name"], "The name of the object in the response"),
            path("ka.response.code", ["responseStatus", "code"], "The HTTP status of the response, as text"),
            path("ka.response.reason", ["responseStatus", "reason"], "The reason of the response (usually failures only)"),
            path("ka.useragent", ["userAgent"], "The user agent of the client"),
            definition("ka.sourceips", list: true, argument: .index, "The client's IP addresses") { argument in
                let path = JSONPath("sourceIPs")
                let index = index(argument)
                return { context in
                    for element in selected(context, context.resolve(path), index) { context.emitText(of: element) }
                }
            },
        ]
    }

    // MARK: - Fields of the request object

    static var requestFields: [FieldDefinition] {
        [
            elements("ka.req.binding.subjects", ["requestObject", "subjects"],
                     "The subjects of a (cluster) role binding, one JSON object each"),
            subjectNames("ka.req.binding.subjects.user_names", kind: "User", withNamespace: false,
                         "The user names a (cluster) role binding binds"),
            subjectNames("ka.req.binding.subjects.serviceaccount_names", kind: "ServiceAccount", withNamespace: false,
                         "The service account names a (cluster) role binding binds"),
            subjectNames("ka.req.binding.subjects.serviceaccount_ns_names", kind: "ServiceAccount", withNamespace: true,
                         "The service accounts a (cluster) role binding binds, as namespace:name"),
            subjectNames("ka.req.binding.subjects.group_names", kind: "Group", withNamespace: false,
                         "The group names a (cluster) role binding binds"),
            path("ka.req.binding.role", ["requestObject", "roleRef", "name"], "The role a (cluster) role binding binds to"),
            definition("ka.req.binding.subject.has_name", argument: .requiredKey,
                       "Deprecated: always true, as in the k8saudit plugin") { _ in
                { context in context.emit(EventContext.trueText.view) }
            },
            path("ka.req.configmap.name", ["objectRef", "name"], "The name of the configmap the request is about"),
            path("ka.req.configmap.obj", ["requestObject", "data"], "The data of the configmap in the request, as JSON"),
            elements("ka.req.role.rules", ["requestObject", "rules"], "The rules of a (cluster) role, one JSON object each"),
            roleRules("ka.req.role.rules.apiGroups", "apiGroups", "The API groups of a (cluster) role's rules"),
            roleRules("ka.req.role.rules.nonResourceURLs", "nonResourceURLs", "The non-resource URLs of a (cluster) role's rules"),
            roleRules("ka.req.role.rules.verbs", "verbs", "The verbs of a (cluster) role's rules"),
            roleRules("ka.req.role.rules.resources", "resources", "The resources of a (cluster) role's rules"),
            path("ka.req.pod.host_ipc", ["requestObject", "spec", "hostIPC"], "The pod's hostIPC flag"),
            path("ka.req.pod.host_network", ["requestObject", "spec", "hostNetwork"], "The pod's hostNetwork flag"),
            path("ka.req.container.host_network", ["requestObject", "spec", "hostNetwork"],
                 "Deprecated alias of ka.req.pod.host_network"),
            path("ka.req.pod.host_pid", ["requestObject", "spec", "hostPID"], "The pod's hostPID flag"),
            path("ka.req.pod.run_as_user", ["requestObject", "spec", "securityContext", "runAsUser"],
                 "The pod security context's runAsUser"),
            path("ka.req.pod.run_as_group", ["requestObject", "spec", "securityContext", "runAsGroup"],
                 "The pod security context's runAsGroup"),
            path("ka.req.pod.fs_group", ["requestObject", "spec", "securityContext", "fsGroup"],
                 "The pod security context's fsGroup"),
            elements("ka.req.pod.supplemental_groups", ["requestObject", "spec", "securityContext", "supplementalGroups"],
                     "The pod security context's supplementalGroups"),
        ]
    }

    static func subjectNames(_ name: String, kind: String, withNamespace: Bool, _ description: String) -> FieldDefinition {
        definition(name, list: true, description) { _ in
            let subjects = JSONPath("requestObject", "subjects")
            let kindKey = ByteConstant("kind"), nameKey = ByteConstant("name"), namespaceKey = ByteConstant("namespace")
            let wanted = ByteConstant(kind)
            return { context in
                let document = context.document
                for subject in document.elements(context.resolve(subjects)) {
                    guard let subjectKind = document.string(document.child(subject, kindKey.view)),
                          subjectKind.equals(wanted.view),
                          let subjectName = document.string(document.child(subject, nameKey.view)) else { continue }
                    if withNamespace {
                        guard let namespace = document.string(document.child(subject, namespaceKey.view)) else { continue }
                        context.emit(context.arena.copy(namespace.string + ":" + subjectName.string))
                    } else {
                        context.emit(subjectName)
                    }
                }
            }
        }
    }

    /// `rules[*].<key>[*]` flattened across rules; with an index, rule `index` only.
    static func roleRules(_ name: String, _ key: String, _ description: String) -> FieldDefinition {
        definition(name, list: true, argument: .index, description) { argument in
            let rules = JSONPath("requestObject", "rules")
            let keyConstant = ByteConstant(key)
            let index = index(argument)
            return { context in
                for rule in selected(context, context.resolve(rules), index) {
                    context.emitElements(of: context.document.child(rule, keyConstant.view))
                }
            }
        }
    }

    // MARK: - Container fields

    static let containerLists = ["containers", "initContainers", "ephemeralContainers"]

    static var containerFields: [FieldDefinition] {
        var fields: [FieldDefinition] = []
        for list in containerLists {
            let prefix = "ka.req.pod.\(list)"
            let what = list == "containers" ? "containers" : list
            fields += [
                perContainer("\(prefix).name", list, "The names of the pod's \(what)") { context, container in
                    context.emitText(of: context.document.child(container, Keys.name.view))
                },
                perContainer("\(prefix).image", list, "The images of the pod's \(what)") { context, container in
                    context.emitText(of: context.document.child(container, Keys.image.view))
                },
                perContainer("\(prefix).image.repository", list, "The image repositories (no tag or digest) of the pod's \(what)") {
                    context, container in
                    if let image = context.document.string(context.document.child(container, Keys.image.view)) {
                        context.emit(ImageReference.repository(of: image))
                    }
                },
                perContainer("\(prefix).command", list, "The commands of the pod's \(what), joined with spaces") { context, container in
                    emitJoined(context, context.document.child(container, Keys.command.view))
                },
                perContainer("\(prefix).args", list, "The args of the pod's \(what), joined with spaces") { context, container in
                    emitJoined(context, context.document.child(container, Keys.args.view))
                },
                perContainer("\(prefix).host_port", list, "The hostPort values of the pod's \(what)") { context, container in
                    for port in context.document.elements(context.document.child(container, Keys.ports.view)) {
                        context.emitText(of: context.document.child(port, Keys.hostPort.view))
                    }
                },
                securityContext("\(prefix).privileged", list, "privileged", "The privileged flags of the pod's \(what)"),
                securityContext("\(prefix).allow_privilege_escalation", list, "allowPrivilegeEscalation",
                                "The allowPrivilegeEscalation flags of the pod's \(what)"),
                securityContext("\(prefix).read_only_fs", list, "readOnlyRootFilesystem",
                                "The readOnlyRootFilesystem flags of the pod's \(what)"),
                securityContext("\(prefix).run_as_user", list, "runAsUser", "The runAsUser of the pod's \(what)"),
                securityContext("\(prefix).run_as_group", list, "runAsGroup", "The runAsGroup of the pod's \(what)"),
                securityContext("\(prefix).proc_mount", list, "procMount", "The procMount types of the pod's \(what)"),
                effective("\(prefix).eff_run_as_user", list, "runAsUser",
                          "The uid each of the pod's \(what) starts with: its own runAsUser, else the pod's, else 0"),
                effective("\(prefix).eff_run_as_group", list, "runAsGroup",
                          "The gid each of the pod's \(what) starts with: its own runAsGroup, else the pod's, else 0"),
                perContainer("\(prefix).add_capabilities", list, "The capabilities the pod's \(what) add") { context, container in
                    let document = context.document
                    let securityContext = document.child(container, Keys.securityContext.view)
                    let capabilities = document.child(securityContext, Keys.capabilities.view)
                    context.emitElements(of: document.child(capabilities, Keys.add.view))
                },
            ]
        }
        fields += [
            definition("ka.req.container.image", "Deprecated: the image of the pod's first container") { _ in
                let path = JSONPath("requestObject", "spec", "containers")
                return { context in
                    guard let first = context.document.elements(context.resolve(path)).first else { return }
                    context.emitText(of: context.document.child(first, Keys.image.view))
                }
            },
            definition("ka.req.container.image.repository", "Deprecated: the image repository of the pod's first container") { _ in
                let path = JSONPath("requestObject", "spec", "containers")
                return { context in
                    guard let first = context.document.elements(context.resolve(path)).first,
                          let image = context.document.string(context.document.child(first, Keys.image.view)) else { return }
                    context.emit(ImageReference.repository(of: image))
                }
            },
            definition("ka.req.container.privileged", "Deprecated: true if any container of the pod is privileged") { _ in
                anyElement(of: JSONPath("requestObject", "spec", "containers")) { document, container in
                    document.bool(document.child(document.child(container, Keys.securityContext.view),
                                                 Keys.privileged.view)) == true
                }
            },
        ]
        return fields
    }

    enum Keys {
        static let name = ByteConstant("name"), image = ByteConstant("image"), command = ByteConstant("command")
        static let args = ByteConstant("args"), ports = ByteConstant("ports"), hostPort = ByteConstant("hostPort")
        static let securityContext = ByteConstant("securityContext"), capabilities = ByteConstant("capabilities")
        static let add = ByteConstant("add"), privileged = ByteConstant("privileged")
        static let hostPath = ByteConstant("hostPath"), path = ByteConstant("path")
        static let flexVolume = ByteConstant("flexVolume"), driver = ByteConstant("driver")
    }

    /// A list field with one entry per container of `list` (or only container `[index]`).
    static func perContainer(_ name: String, _ list: String, _ description: String,
                             _ body: @escaping @Sendable (EventContext, JSONDocument.Node) -> Void) -> FieldDefinition {
        perElement(name, ["requestObject", "spec", list], description, body)
    }

    /// A list field built from each element of the array at `keys` (or only element `[index]`).
    static func perElement(_ name: String, _ keys: [String], _ description: String,
                           _ body: @escaping @Sendable (EventContext, JSONDocument.Node) -> Void) -> FieldDefinition {
        definition(name, list: true, argument: .index, description) { argument in
            let path = JSONPath(keys: keys)
            let index = index(argument)
            return { context in
                for element in selected(context, context.resolve(path), index) { body(context, element) }
            }
        }
    }

    /// "true" when some element of the array at `path` passes `test`, else "false"; no value without the array.
    static func anyElement(of path: JSONPath,
                           _ test: @escaping @Sendable (JSONDocument, JSONDocument.Node) -> Bool) -> FieldBody {
        { context in
            let document = context.document
            let array = context.resolve(path)
            guard document.kind(array) == .array else { return }
            let found = document.elements(array).contains { test(document, $0) }
            context.emit(found ? EventContext.trueText.view : EventContext.falseText.view)
        }
    }

    /// `securityContext.<key>` of each container; containers without it contribute nothing.
    static func securityContext(_ name: String, _ list: String, _ key: String, _ description: String) -> FieldDefinition {
        let keyConstant = ByteConstant(key)
        return perContainer(name, list, description) { context, container in
            let securityContext = context.document.child(container, Keys.securityContext.view)
            context.emitText(of: context.document.child(securityContext, keyConstant.view))
        }
    }

    /// The container's own security context value, else the pod's, else 0.
    static func effective(_ name: String, _ list: String, _ key: String, _ description: String) -> FieldDefinition {
        let keyConstant = ByteConstant(key)
        let podPath = JSONPath(keys: ["requestObject", "spec", "securityContext", key])
        let zero = ByteConstant("0")
        return perContainer(name, list, description) { context, container in
            let own = context.document.child(context.document.child(container, Keys.securityContext.view), keyConstant.view)
            if let value = context.text(of: own) {
                context.emit(value)
            } else if let podValue = context.text(of: context.resolve(podPath)) {
                context.emit(podValue)
            } else {
                context.emit(zero.view)
            }
        }
    }

    /// An array of strings joined with single spaces (a container's command or args).
    static func emitJoined(_ context: EventContext, _ array: JSONDocument.Node) {
        let document = context.document
        guard document.kind(array) == .array else { return }
        var parts: [String] = []
        for element in document.elements(array) {
            guard let text = document.string(element) else { return }
            parts.append(text.string)
        }
        context.emit(context.arena.copy(parts.joined(separator: " ")))
    }

    // MARK: - Volumes and services

    static var volumeAndServiceFields: [FieldDefinition] {
        [
            perVolume("ka.req.pod.volumes.hostpath", "The hostPath paths of the pod's volumes") { context, volume in
                context.emitText(of: context.document.child(context.document.child(volume, Keys.hostPath.view), Keys.path.view))
            },
            perVolume("ka.req.pod.volumes.flexvolume_driver", "The flexVolume drivers of the pod's volumes") { context, volume in
                context.emitText(of: context.document.child(context.document.child(volume, Keys.flexVolume.view), Keys.driver.view))
            },
            perVolume("ka.req.pod.volumes.volume_type", "The types of the pod's volumes (hostPath, configMap, ...)") {
                context, volume in
                for (key, _) in context.document.entries(volume) where !key.equals(Keys.name.view) {
                    context.emit(context.arena.copy(key))
                }
            },
            definition("ka.req.volume.hostpath", argument: .requiredKey,
                       "Deprecated: true if a volume uses this host path (a trailing * matches a prefix)") { argument in
                guard case .key(let key) = argument else { throw FieldError(message: "ka.req.volume.hostpath needs a path") }
                let isPrefix = key.hasSuffix("*")
                let wanted = ByteConstant(isPrefix ? String(key.dropLast()) : key)
                return anyElement(of: JSONPath("requestObject", "spec", "volumes")) { document, volume in
                    guard let hostPath = document.string(document.child(document.child(volume, Keys.hostPath.view),
                                                                        Keys.path.view)) else { return false }
                    return isPrefix ? hostPath.hasPrefix(wanted.view) : hostPath.equals(wanted.view)
                }
            },
            path("ka.req.service.type", ["requestObject", "spec", "type"], "The type of the service in the request"),
            definition("ka.req.service.ports", list: true, argument: .index,
                       "The ports of the service in the request, as JSON (the whole list, or port [i])") { argument in
                let path = JSONPath("requestObject", "spec", "ports")
                let index = index(argument)
                return { context in
                    let ports = context.resolve(path)
                    if let index {
                        for port in selected(context, ports, index) { context.emitText(of: port) }
                    } else {
                        context.emitText(of: ports)
                    }
                }
            },
        ]
    }

    static func perVolume(_ name: String, _ description: String,
                          _ body: @escaping @Sendable (EventContext, JSONDocument.Node) -> Void) -> FieldDefinition {
        perElement(name, ["requestObject", "spec", "volumes"], description, body)
    }

    // MARK: - Fields with their own logic

    static var specialFields: [FieldDefinition] {
        [
            definition("ka.uri.param", argument: .requiredKey,
                       "The value of a query parameter of the request URI (ka.uri.param[key])") { argument in
                guard case .key(let key) = argument else { throw FieldError(message: "ka.uri.param needs a key") }
                let path = JSONPath("requestURI")
                return { context in
                    guard let uri = context.document.string(context.resolve(path)),
                          let value = QueryString.value(of: key, in: uri) else { return }
                    context.emit(context.arena.copy(value))
                }
            },
            definition("ka.target.pod.name", "The name of the pod a pod request (no subresource) is about") { _ in
                let resource = JSONPath("objectRef", "resource"), subresource = JSONPath("objectRef", "subresource")
                let name = JSONPath("responseObject", "metadata", "name")
                let pods = ByteConstant("pods")
                return { context in
                    guard let kind = context.document.string(context.resolve(resource)), kind.equals(pods.view) else { return }
                    if let sub = context.document.string(context.resolve(subresource)), sub.count > 0 { return }
                    context.emitText(of: context.resolve(name))
                }
            },
            definition("ka.cluster.name", "The name of the cluster the event comes from") { _ in
                let annotation = JSONPath("annotations", "cluster_name")
                return { context in
                    if context.cluster.count > 0 {
                        context.emit(context.cluster)
                    } else {
                        context.emitText(of: context.resolve(annotation))
                    }
                }
            },
        ]
    }
}

/// Container image references: `registry:5000/team/app:1.2@sha256:…` → `registry:5000/team/app`.
enum ImageReference {
    static func repository(of image: ByteView) -> ByteView {
        var end = image.count
        // A digest starts at the first '@'.
        for index in 0..<image.count where image[index] == UInt8(ascii: "@") {
            end = index
            break
        }
        // A tag is a ':' after the last '/', so a registry port is kept.
        var lastSlash = -1
        for index in 0..<end where image[index] == UInt8(ascii: "/") { lastSlash = index }
        var index = end - 1
        while index > lastSlash {
            if image[index] == UInt8(ascii: ":") {
                end = index
                break
            }
            index -= 1
        }
        return image.slice(from: 0, to: end)
    }
}

/// Query parameters of a request URI, decoded as Go's url.ParseQuery does; the first occurrence wins.
enum QueryString {
    static func value(of key: String, in uri: ByteView) -> String? {
        let text = uri.string
        guard let question = text.firstIndex(of: "?") else { return nil }
        var query = text[text.index(after: question)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), name == key else { continue }
            return parts.count > 1 ? decode(parts[1]) : ""
        }
        return nil
    }

    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

}
