import Foundation
import Pipeline
import Testing
import Workload

/// The load generator's parts: timestamps, rewritten events, auditIDs that say where they came from, bodies.
@Suite struct LoadgenPartsTests {
    @Test func timestampsAreTheApiserversRFC3339InMicroseconds() {
        #expect(AuditTimestamp.microseconds(0) == "1970-01-01T00:00:00.000000Z")
        #expect(AuditTimestamp.microseconds(CorpusGenerator.defaultStart + 1_234_567_891) == "2026-11-26T10:00:01.234567Z")
        #expect(AuditTimestamp.microseconds(951_782_400_000_000_000) == "2000-02-29T00:00:00.000000Z")
        #expect(AuditTimestamp.microseconds(4_102_444_799_999_999_000) == "2099-12-31T23:59:59.999999Z")
        #expect(AuditTimestamp.now().count == AuditTimestamp.length)
    }

    @Test func auditIDsCarryRunRequestAndItem() throws {
        let id = LoadAuditID.make(run: 0xdead_beef, request: 0x0123_4567, item: 399, tail: Array("0123456789abcdef".utf8)[...])
        let text = String(decoding: id, as: UTF8.self)
        #expect(text == "deadbeef-0123-4567-018f-456789abcdef")
        let parsed = try #require(LoadAuditID.parse(id))
        #expect(parsed.run == 0xdead_beef && parsed.request == 0x0123_4567 && parsed.item == 399)
        #expect(LoadAuditID.parse(Array("not-an-id".utf8)) == nil)
        #expect(LoadAuditID.parse(Array("zzzzzzzz-0123-4567-018f-456789abcdef".utf8)) == nil)
    }

    @Test func everyKindOfTheMixIsATemplate() throws {
        var generator = CorpusGenerator(seed: 3)
        for (number, kind) in CorpusGenerator.Kind.allCases.enumerated() {
            let event = Array(generator.event(kind, number: number).utf8)
            let template = try #require(EventTemplate(event), "\(kind)")
            var rewritten: [UInt8] = []
            let id = LoadAuditID.make(run: 7, request: 1, item: 2, tail: template.bytes[template.auditIDRange])
            template.append(to: &rewritten, auditID: id, timestamp: Array("2030-01-02T03:04:05.678901Z".utf8))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(rewritten)) as? [String: Any], "\(kind)")
            #expect(object["auditID"] as? String == String(decoding: id, as: UTF8.self))
            #expect(object["stageTimestamp"] as? String == "2030-01-02T03:04:05.678901Z")
            #expect(object["requestReceivedTimestamp"] as? String == "2030-01-02T03:04:05.678901Z")
            #expect(rewritten.count == event.count)
        }
    }

    @Test func eventListsHoldTheRequestedEventsWithFreshIDs() throws {
        let events = LoadEvents(templates: LoadEvents.sample(), runTag: 42)
        let body = events.eventList(request: 3, first: 100, count: 20)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(list["kind"] as? String == "EventList")
        let items = try #require(list["items"] as? [[String: Any]])
        #expect(items.count == 20)
        let ids = items.compactMap { $0["auditID"] as? String }
        #expect(Set(ids).count == 20)
        for (index, id) in ids.enumerated() {
            let parsed = try #require(LoadAuditID.parse(Array(id.utf8)))
            #expect(parsed.run == 42 && parsed.request == 3 && Int(parsed.item) == index)
        }
    }

    @Test func theSampleIsTheSameEveryTime() {
        #expect(SampleEvents.events() == SampleEvents.events())
        #expect(SampleEvents.events().count == 114)
    }
}
