import AuditModel

/// The field reference printed by `auditpipe rules fields`.
enum FieldList {
    static func lines() -> [String] {
        FieldCatalog.definitions.values.sorted { $0.name < $1.name }.map { definition in
            var name = definition.name
            switch definition.argument {
            case .none: break
            case .index: name += "[i]"
            case .requiredKey: name += "[key]"
            }
            let kind = definition.isList ? "list of \(definition.type.rawValue)" : definition.type.rawValue
            return "\(name.padding(50))\(kind.padding(16))\(definition.description)"
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
