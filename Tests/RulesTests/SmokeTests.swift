import Testing
@testable import Rules

@Test func upstreamFalcoRulesLoadUnchanged() throws {
    let ruleSet = try RuleSet.load(files: [TestSupport.falcoRulesPath])
    #expect(ruleSet.statistics.rules == 48)
    #expect(ruleSet.statistics.macros == 45)
    #expect(ruleSet.statistics.lists == 18)
}
