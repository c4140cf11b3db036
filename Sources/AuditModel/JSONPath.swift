import Foundation

/// A path of object keys (and array indexes) resolved against the current
/// event, precompiled to byte constants so walking it allocates nothing.
struct JSONPath: Sendable {
    enum Step: Sendable {
        case key(ByteConstant)
        /// A pointer component that may index an array or name an object key.
        case keyOrIndex(ByteConstant, Int)
    }

    let steps: [Step]

    init(_ keys: String...) {
        steps = keys.map { .key(ByteConstant($0)) }
    }

    init(keys: [String]) {
        steps = keys.map { .key(ByteConstant($0)) }
    }

    init(steps: [Step]) {
        self.steps = steps
    }

    /// RFC 6901: `/a/b~1c/0` → a, "b/c", 0. A leading `/` is optional, as in Falco's json plugin.
    init(pointer: String) {
        var text = Substring(pointer)
        if text.hasPrefix("/") { text = text.dropFirst() }
        let components = text.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        steps = components.map { component in
            if let index = Int(component), index >= 0, component.allSatisfy(\.isASCII) {
                return .keyOrIndex(ByteConstant(component), index)
            }
            return .key(ByteConstant(component))
        }
    }

    func resolve(_ document: JSONDocument, from start: JSONDocument.Node = JSONDocument.root) -> JSONDocument.Node {
        var node = start
        for step in steps {
            guard node >= 0 else { return JSONDocument.none }
            switch step {
            case .key(let key):
                node = document.child(node, key.view)
            case .keyOrIndex(let key, let index):
                if document.kind(node) == .array {
                    let elements = document.elements(node)
                    node = index < elements.count ? elements[elements.startIndex + index] : JSONDocument.none
                } else {
                    node = document.child(node, key.view)
                }
            }
        }
        return node
    }
}
