import Foundation

/// Runs blocking work (a Kafka poll loop, waiting for a process) on a thread of its own and awaits it, so an
/// async test does not hold one of Swift's cooperative threads (two on this machine) while it waits: the
/// servers under test answer requests on those same threads.
public func blocking<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.name = "test-blocking-work"
        thread.start()
    }
}
