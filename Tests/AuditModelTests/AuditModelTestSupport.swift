import AuditModel

/// Extracts one field from one event: the values as strings (empty: no value).
enum FieldProbe {
    static func values(_ field: String, argument: String? = nil, in event: String, cluster: String = "") throws -> [String] {
        let catalog = FieldCatalog()
        let extractor = try catalog.extractor(name: field, argument: argument)
        let context = catalog.makeContext()
        let bytes = Array(event.utf8)
        return try bytes.withUnsafeBytes { raw in
            try context.load(raw)
            if !cluster.isEmpty {
                return cluster.utf8CString.withUnsafeBufferPointer { pointer in
                    pointer.withMemoryRebound(to: UInt8.self) { utf8 in
                        context.cluster = ByteView(base: utf8.baseAddress, count: utf8.count - 1)
                        return context.strings(of: extractor)
                    }
                }
            }
            return context.strings(of: extractor)
        }
    }
}
