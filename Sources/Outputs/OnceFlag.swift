import Synchronization

/// A flag set once, from any thread: `set()` answers true for the first caller only (closing a
/// pipe, shutting a client down). A class around the non-copyable `Atomic` so that types with
/// throwing initialisers can hold one: Swift 6.3's optimiser crashes ("Found ownership error")
/// on an `Atomic` stored in a class whose throwing init fails after its properties were set.
final class OnceFlag: Sendable {
    private let value = Atomic(false)

    /// Sets the flag; true when it was not set before.
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}
