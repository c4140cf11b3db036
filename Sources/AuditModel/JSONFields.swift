/// The `jevt.*` fields of Falco's json plugin, over the whole audit event.
enum JSONFields {
    static var all: [FieldDefinition] {
        [
            FieldDefinition(name: "jevt.value", type: .string, isList: false, argument: .requiredKey,
                            description: "The value at an RFC 6901 JSON pointer, e.g. jevt.value[/user/username]") { argument in
                guard case .key(let pointer) = argument else { throw FieldError(message: "jevt.value needs a JSON pointer") }
                let path = JSONPath(pointer: pointer)
                return { context in context.emitText(of: context.resolve(path)) }
            },
            FieldDefinition(name: "jevt.obj", type: .string, isList: false, argument: .none,
                            description: "The whole event, as the JSON text that arrived") { _ in
                { context in context.emit(trimmed(context.raw)) }
            },
            rawTime("jevt.rawtime", "The event time (stageTimestamp) in nanoseconds since the epoch"),
            FieldDefinition(name: "jevt.time", type: .string, isList: false, argument: .none,
                            description: "The event time as HH:MM:SS.nnnnnnnnn (UTC)") { _ in
                { context in
                    if let time = context.eventTime { context.emit(context.arena.copy(Timestamp.timeOfDay(time))) }
                }
            },
            FieldDefinition(name: "jevt.time.iso8601", type: .string, isList: false, argument: .none,
                            description: "The event time in ISO 8601 (UTC, nanoseconds)") { _ in
                { context in
                    if let time = context.eventTime { context.emit(context.arena.copy(Timestamp.rfc3339(time))) }
                }
            },
        ]
    }

    /// The event time as a number of nanoseconds.
    static func rawTime(_ name: String, _ description: String) -> FieldDefinition {
        FieldDefinition(name: name, type: .uint64, isList: false, argument: .none, description: description) { _ in
            { context in
                if let time = context.eventTime { context.emit(context.arena.decimal(time)) }
            }
        }
    }

    static func trimmed(_ bytes: ByteView) -> ByteView {
        var start = 0, end = bytes.count
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes.slice(from: start, to: end)
    }
}

/// Falco's generic `evt.*` fields that make sense for audit events; rule
/// outputs written for Falco often print %evt.time.
enum EventFields {
    static var all: [FieldDefinition] {
        [
            time("evt.time", "The event time as HH:MM:SS.nnnnnnnnn (UTC)", Timestamp.timeOfDay),
            time("evt.time.iso8601", "The event time in ISO 8601 (UTC, nanoseconds)", Timestamp.rfc3339),
            JSONFields.rawTime("evt.rawtime", "The event time in nanoseconds since the epoch"),
            FieldDefinition(name: "evt.source", type: .string, isList: false, argument: .none,
                            description: "The event source: k8s_audit") { _ in
                let source = ByteConstant("k8s_audit")
                return { context in context.emit(source.view) }
            },
            FieldDefinition(name: "evt.hostname", type: .string, isList: false, argument: .none,
                            description: "The host name of the auditpipe process that evaluated the event") { _ in
                { context in
                    if context.hostname.count > 0 { context.emit(context.hostname) }
                }
            },
        ]
    }

    static func time(_ name: String, _ description: String,
                     _ format: @escaping @Sendable (Int64) -> String) -> FieldDefinition {
        FieldDefinition(name: name, type: .string, isList: false, argument: .none, description: description) { _ in
            { context in
                if let time = context.eventTime { context.emit(context.arena.copy(format(time))) }
            }
        }
    }
}
