@testable import Outputs
import Testing

/// The grpc output's fan-out on its own: who gets an alert, what waits, what is dropped and counted.
@Suite struct AlertFanOutTests {
    typealias FanOut = AlertFanOut<Int>

    static func fanOut(backlog: Int = 100, buffer: Int = 100, policy: GRPCBacklogPolicy = .dropOldest) -> FanOut {
        FanOut(limits: .init(backlogCapacity: backlog, subscriberBuffer: buffer, whenBacklogFull: policy))
    }

    /// What a subscription has buffered now (the stream is finished first so the read cannot wait).
    static func drain(_ subscription: FanOut.Subscription, _ fanOut: FanOut) async -> [Int] {
        fanOut.unsubscribe(subscription)
        var values: [Int] = []
        for await value in subscription.alerts { values.append(value) }
        return values
    }

    @Test func withoutSubscribersAlertsWaitAndTheOldestGiveWayWhenFull() throws {
        let fanOut = Self.fanOut(backlog: 3)
        #expect(try fanOut.publish([1, 2]) == .init(streamed: 0, backlogged: 2, evicted: 0))
        #expect(try fanOut.publish([3, 4, 5]) == .init(streamed: 0, backlogged: 3, evicted: 2))
        #expect(fanOut.takeBacklog() == [3, 4, 5])
        #expect(fanOut.takeBacklog() == [])
    }

    @Test func aZeroBacklogKeepsNothingAndCountsEveryUnsentAlert() throws {
        let fanOut = Self.fanOut(backlog: 0)
        #expect(try fanOut.publish([1, 2]) == .init(streamed: 0, backlogged: 0, evicted: 2))
        #expect(fanOut.backlogCount == 0)
    }

    @Test func aSubscriberTakesTheBacklogThenEverythingPublished() async throws {
        let fanOut = Self.fanOut()
        _ = try fanOut.publish([1, 2])
        let first = try #require(fanOut.subscribe())
        let second = try #require(fanOut.subscribe())
        #expect(first.backlog == [1, 2])
        #expect(second.backlog == [], "the backlog goes to one subscriber, once")
        #expect(try fanOut.publish([3, 4]) == .init(streamed: 2, backlogged: 0, evicted: 0))
        #expect(await Self.drain(first, fanOut) == [3, 4])
        #expect(await Self.drain(second, fanOut) == [3, 4])
        #expect(fanOut.subscriberCount == 0)
    }

    @Test func aFullSubscriberIsDisconnectedAndWhatNobodyTookWaitsInTheBacklog() async throws {
        let fanOut = Self.fanOut(buffer: 2)
        let slow = try #require(fanOut.subscribe())
        let outcome = try fanOut.publish([1, 2, 3, 4])
        #expect(outcome == .init(streamed: 2, backlogged: 2, evicted: 0, slowSubscribersDisconnected: 1))
        #expect(slow.end == .tooSlow(buffered: 2))
        #expect(fanOut.subscriberCount == 0)
        var received: [Int] = []
        for await value in slow.alerts { received.append(value) }
        #expect(received == [1, 2], "it still reads what was buffered for it")
        #expect(fanOut.takeBacklog() == [3, 4])
    }

    @Test func aFullSubscriberDoesNotTakeAlertsFromTheOthers() async throws {
        let fanOut = Self.fanOut(buffer: 2)
        let slow = try #require(fanOut.subscribe())
        let other = try #require(fanOut.subscribe())
        _ = try fanOut.publish([1, 2])
        _ = await Self.drain(other, fanOut)
        let keeping = try #require(fanOut.subscribe())
        #expect(try fanOut.publish([3]) == .init(streamed: 1, backlogged: 0, evicted: 0, slowSubscribersDisconnected: 1))
        #expect(slow.end == .tooSlow(buffered: 2))
        #expect(await Self.drain(keeping, fanOut) == [3])
    }

    @Test func rejectRefusesABatchThatDoesNotFitAndKeepsNoneOfIt() throws {
        let fanOut = Self.fanOut(backlog: 3, policy: .reject)
        _ = try fanOut.publish([1, 2])
        #expect(throws: FanOut.BacklogFull.self) { try fanOut.publish([3, 4]) }
        #expect(fanOut.takeBacklog() == [1, 2])
        #expect(try fanOut.publish([3, 4, 5]).backlogged == 3)
    }

    @Test func unsentBacklogAlertsGoBackToTheFrontAndTheOldestGiveWayWhenFull() throws {
        let fanOut = Self.fanOut(backlog: 4)
        _ = try fanOut.publish([1, 2, 3])
        let taken = fanOut.takeBacklog()
        _ = try fanOut.publish([4, 5])
        #expect(fanOut.restore(taken[1...]) == 0)
        #expect(fanOut.takeBacklog() == [2, 3, 4, 5])
        _ = try fanOut.publish([6, 7, 8])
        #expect(fanOut.restore([1, 2, 3]) == 2)
        #expect(fanOut.takeBacklog() == [3, 6, 7, 8])
    }

    @Test func closeEndsSubscriptionsAndRefusesNewOnes() async throws {
        let fanOut = Self.fanOut()
        let subscription = try #require(fanOut.subscribe())
        fanOut.close()
        for await _ in subscription.alerts {}
        #expect(subscription.end == .shutdown)
        #expect(fanOut.subscribe() == nil)
    }
}
