#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DequeModule
import MonSyncCore

/// The thread on which a monitor reads the chunks its sync provider streams, below the
/// scheduling priority of everything else in the process.
///
/// A provider reading a 1 MiB chunk from the store on the monitor's own executor holds every Paxos
/// message behind it for the read (measured: 8 chunks at a session's start took 145 ms, two
/// rate-limit resumes 83 and 95 ms, each a stall of every client write). Here the reads run on one
/// thread of their own with nice value ``niceValue`` (Linux schedules threads, so it applies to
/// this thread alone): when the two compete for a core, Paxos wins. This is TiKV's choice too
/// (snapshots are generated on their own low-priority pool).
///
/// Reads run one at a time, in the order they were asked (sessions share the thread fairly).
/// The thread starts with the first read and ends after ``lingerSeconds`` without one, so a
/// monitor that serves no sync has no reader thread at all.
final class SnapshotReader: Sendable {
    /// The nice value of the reader thread (0 is the process's default; 19 the lowest priority).
    static let niceValue: Int32 = 10
    /// How long an idle reader thread waits for more reads before it ends.
    static let lingerSeconds = 2

    private struct Queue {
        var reads: Deque<@Sendable () -> Void> = []
        /// Whether a thread is running (or starting) to take reads.
        var running = false
    }

    private let queue = LockedState(Queue())
    // Shared between the submitting threads and the reader thread: sem_post and sem_timedwait are
    // thread-safe by POSIX. The semaphore never moves (allocated once, destroyed in deinit, when no
    // thread can hold a reference: a running reader thread retains this object).
    private nonisolated(unsafe) let wakeup: UnsafeMutablePointer<sem_t>

    init() {
        wakeup = .allocate(capacity: 1)
        sem_init(wakeup, 0, 0)
    }

    deinit {
        sem_destroy(wakeup)
        wakeup.deallocate()
    }

    /// Runs `read` on the reader thread, after the reads asked before it.
    func submit(_ read: @escaping @Sendable () -> Void) {
        let start = queue.withLock { queue -> Bool in
            queue.reads.append(read)
            defer { queue.running = true }
            return !queue.running
        }
        if start && !spawn() {
            // No thread to be had: read here rather than never (the caller waits for the answer).
            while let read = queue.withLock({ queue -> (@Sendable () -> Void)? in
                if let read = queue.reads.popFirst() { return read }
                queue.running = false
                return nil
            }) {
                read()
            }
            return
        }
        sem_post(wakeup)
    }

    private func spawn() -> Bool {
        var thread = pthread_t()
        let unmanaged = Unmanaged.passRetained(self)
        let rc = pthread_create(&thread, nil, { argument in
            let reader = Unmanaged<SnapshotReader>.fromOpaque(argument!).takeRetainedValue()
            reader.run()
            return nil
        }, unmanaged.toOpaque())
        guard rc == 0 else {
            unmanaged.release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    private func run() {
        // Linux threads have their own nice value, and PRIO_PROCESS with `who` 0 means the calling
        // thread (setpriority(2), "Bugs"): this thread alone. Raising one's own nice value needs
        // no privilege; should it fail anyway, the thread reads at the default priority.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceValue)
        while true {
            if let read = queue.withLock({ $0.reads.popFirst() }) {
                read()
                continue
            }
            if waitForWork() { continue }
            // Idle for the linger time: end, unless a read came in meanwhile (its submitter saw
            // `running` set and posted the semaphore, which the next loop consumes).
            let ended = queue.withLock { queue -> Bool in
                guard queue.reads.isEmpty else { return false }
                queue.running = false
                return true
            }
            if ended { return }
        }
    }

    /// Waits until a read is posted (true) or the linger time passes (false).
    private func waitForWork() -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += Self.lingerSeconds
        while true {
            if sem_timedwait(wakeup, &deadline) == 0 { return true }
            if errno != EINTR { return false }
        }
    }
}
