import Foundation

/// Polls `condition` every `interval` until it holds or `limit` passes; returns whether it held.
/// Every wait in the tests is bounded: a broken feature fails the test instead of hanging it.
public func eventually(within limit: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
                       _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
