#if ZeroMQ
import Glibc

/// A value guarded by a pthread mutex: the lock every shared state of this module uses.
///
/// Not `Synchronization.Mutex`: on Linux its futex-based locking lives in the
/// (uninstrumented) standard library, so ThreadSanitizer cannot see it and
/// reports every access it guards as a race. `pthread_mutex_lock` is
/// intercepted by ThreadSanitizer, so the transport can be checked for real races.
final class Locked<State: Sendable>: @unchecked Sendable {
    // @unchecked Sendable is safe: `state` is only touched inside `withLock`, between
    // pthread_mutex_lock and pthread_mutex_unlock of `mutex`, so no two threads ever access
    // it at once; and `State: Sendable`, so values moved in and out may cross threads.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    init(_ state: State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the state. `body` must not call back into this lock.
    func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
#endif
