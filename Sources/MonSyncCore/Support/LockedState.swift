#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a POSIX mutex: the lock MonSync uses for all shared mutable state.
///
/// Why not `Synchronization.Mutex`: on Linux (Swift 6.3) its lock is invisible
/// to ThreadSanitizer, which then reports every access made under it as a race
/// (measured: a 4-task counter under `Mutex` gives "Swift access race" reports,
/// the same code under `pthread_mutex_t` none). Keeping TSan runs clean matters
/// more than the one allocation this class costs, because the ZeroMQ transport
/// and the sync roles are tested under TSan.
///
/// `withLock` must not be re-entered on the same instance from inside its body,
/// and must not suspend (it takes no async closure, so it cannot).
public final class LockedState<Value>: @unchecked Sendable {
    // Safe to share: `value` is read and written only inside `withLock`, between
    // pthread_mutex_lock and pthread_mutex_unlock on `mutex`, which never moves
    // (it is heap-allocated once and freed in deinit, when no other reference exists).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Creates the lock around `value`.
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&unsafeValue)
    }

    @usableFromInline func lock() { pthread_mutex_lock(mutex) }
    @usableFromInline func unlock() { pthread_mutex_unlock(mutex) }
    @usableFromInline var unsafeValue: Value {
        get { value }
        _modify { yield &value }
    }
}
