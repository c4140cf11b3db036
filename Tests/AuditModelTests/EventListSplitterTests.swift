import AuditModel
import Testing

/// The splitter hands out each item's exact bytes: no surrounding whitespace, nothing re-encoded.
@Suite struct EventListSplitterTests {
    static func items(_ text: String) throws -> [String] {
        let bytes = Array(text.utf8)
        switch try EventListSplitter().split(bytes) {
        case .list(let spans), .array(let spans):
            return spans.map { String(decoding: bytes[$0.range], as: UTF8.self) }
        case .object(let span, _):
            return [String(decoding: bytes[span.range], as: UTF8.self)]
        case .scalar:
            return []
        }
    }

    @Test func itemsEndAtTheirLastCharacterWhateverWhitespaceFollows() throws {
        #expect(try Self.items("{\"items\": [ {\"a\" : 1} ,\n\t{\"b\":[1, 2]}\r\n , \"s\" , 3 ], \"kind\":\"EventList\"}")
            == ["{\"a\" : 1}", "{\"b\":[1, 2]}", "\"s\"", "3"])
        #expect(try Self.items("  [ {\"x\":1}\n ]\n") == ["{\"x\":1}"])
        #expect(try Self.items("\n {\"kind\":\"Event\"} \n") == ["{\"kind\":\"Event\"}"])
    }

    @Test func aScalarDocumentIsAScalarAndBrokenJSONIsAnError() throws {
        #expect(try Self.items("\"just text\"") == [])
        #expect(try Self.items("42") == [])
        #expect(throws: SplitError.self) { try Self.items("{\"items\":[{\"a\":1}") }
        #expect(try Self.items("null") == [])
        #expect(throws: SplitError.self) { try Self.items("{\"a\":1} trailing") }
        #expect(throws: SplitError.self) { try Self.items("not json") }
        #expect(throws: SplitError.self) { try Self.items("42 43") }
        #expect(throws: SplitError.self) { try Self.items("\"unterminated") }
    }
}
