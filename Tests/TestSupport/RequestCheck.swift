/// Checks one request against a service's documented API and collects every mismatch, for
/// `HTTPTestReceiver` validators:
///
/// ```swift
/// HTTPTestReceiver(validator: { request in
///     var check = RequestCheck(request)
///     check.route("POST", "/api/v1/events")
///     check.header("DD-API-KEY", equals: "key")
///     if let body = check.jsonObject(required: ["title", "text"], optional: ["tags"]) {
///         check.string(body, "title", at: "$")
///     }
///     return check.verdict
/// })
/// ```
public struct RequestCheck {
    public let request: ReceivedRequest
    public private(set) var problems: [String] = []

    public init(_ request: ReceivedRequest) {
        self.request = request
    }

    /// nil when everything matched, else every problem found (the receiver's 400 body).
    public var verdict: String? { problems.isEmpty ? nil : problems.joined(separator: "; ") }

    public mutating func fail(_ problem: String) { problems.append(problem) }

    public mutating func route(_ method: String, _ path: String) {
        if request.method != method { fail("method \(request.method), expected \(method)") }
        if request.path != path { fail("path \(request.path), expected \(path)") }
    }

    public mutating func header(_ name: String, equals expected: String) {
        guard let value = request.header(name) else { return fail("missing header \(name)") }
        if value != expected { fail("header \(name) is '\(value)', expected '\(expected)'") }
    }

    /// `Content-Type: application/json` (parameters such as charset allowed).
    public mutating func jsonContentType() {
        let value = request.header("Content-Type") ?? ""
        if value.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() != "application/json" {
            fail("Content-Type is '\(value)', expected application/json")
        }
    }

    /// The body as a JSON object with these keys (an unknown key or a missing required one is a problem).
    public mutating func jsonObject(required: Set<String>, optional: Set<String> = []) -> [String: JSONValue]? {
        jsonContentType()
        let body: JSONValue
        do {
            body = try request.json()
        } catch {
            fail("body is \(error)")
            return nil
        }
        return object(body, at: "$", required: required, optional: optional)
    }

    /// `value` as an object with these keys; nil (and a problem) when it is not an object.
    public mutating func object(_ value: JSONValue?, at path: String, required: Set<String>,
                                optional: Set<String> = []) -> [String: JSONValue]? {
        guard let members = value?.object else {
            fail("\(path) is \(value?.kind ?? "missing"), expected an object")
            return nil
        }
        for key in required.subtracting(members.keys).sorted() { fail("\(path).\(key) is missing") }
        for key in Set(members.keys).subtracting(required).subtracting(optional).sorted() {
            fail("\(path).\(key) is not a field of this API")
        }
        return members
    }

    /// A string member; `allowed` limits its values, `maxLength` its length (in characters).
    @discardableResult
    public mutating func string(_ object: [String: JSONValue], _ key: String, at path: String,
                                allowed: Set<String>? = nil, maxLength: Int? = nil, nonEmpty: Bool = true) -> String? {
        guard let member = object[key] else { return nil }
        guard let text = member.string else {
            fail("\(path).\(key) is \(member.kind), expected a string")
            return nil
        }
        if nonEmpty, text.isEmpty { fail("\(path).\(key) is empty") }
        if let allowed, !allowed.contains(text) { fail("\(path).\(key) is '\(text)', expected one of \(allowed.sorted())") }
        if let maxLength, text.count > maxLength { fail("\(path).\(key) has \(text.count) characters, at most \(maxLength) allowed") }
        return text
    }

    @discardableResult
    public mutating func bool(_ object: [String: JSONValue], _ key: String, at path: String) -> Bool? {
        guard let member = object[key] else { return nil }
        guard let value = member.bool else {
            fail("\(path).\(key) is \(member.kind), expected a boolean")
            return nil
        }
        return value
    }

    /// An array member whose items are checked by `item` (given the item and its path).
    @discardableResult
    public mutating func array(_ object: [String: JSONValue], _ key: String, at path: String, maxCount: Int? = nil,
                               item: (inout RequestCheck, JSONValue, String) -> Void = { _, _, _ in }) -> [JSONValue]? {
        guard let member = object[key] else { return nil }
        guard let items = member.array else {
            fail("\(path).\(key) is \(member.kind), expected an array")
            return nil
        }
        if let maxCount, items.count > maxCount { fail("\(path).\(key) has \(items.count) items, at most \(maxCount) allowed") }
        for (index, value) in items.enumerated() { item(&self, value, "\(path).\(key)[\(index)]") }
        return items
    }

    /// An array of strings.
    @discardableResult
    public mutating func strings(_ object: [String: JSONValue], _ key: String, at path: String, maxCount: Int? = nil,
                                 maxLength: Int? = nil) -> [String]? {
        let items = array(object, key, at: path, maxCount: maxCount) { check, value, itemPath in
            guard let text = value.string else { return check.fail("\(itemPath) is \(value.kind), expected a string") }
            if let maxLength, text.count > maxLength { check.fail("\(itemPath) has \(text.count) characters, at most \(maxLength) allowed") }
        }
        return items?.compactMap(\.string)
    }
}
