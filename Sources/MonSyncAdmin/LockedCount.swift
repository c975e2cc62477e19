import Synchronization

/// A count with a ceiling, shared between tasks: the admin server's open connections.
final class LockedCount: Sendable {
    private let value = Mutex(0)

    /// Counts one more unless `limit` are already counted; whether it did.
    func enter(limit: Int) -> Bool {
        value.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    /// Counts one less.
    func leave() { value.withLock { $0 -= 1 } }
}
