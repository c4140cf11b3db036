import Testing
import AuditModel

@Test func verbIsExtracted() throws {
    #expect(try FieldProbe.values("ka.verb", in: #"{"verb":"get"}"#) == ["get"])
}
