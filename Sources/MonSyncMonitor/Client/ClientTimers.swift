import HeapModule
import MonSyncCore

/// The deadlines of a client's calls — attempt timeouts, pauses between hunts, whole-call
/// deadlines — in one heap, served by one sleeping task. The monitor's shells keep their timers
/// in one too (``TimerTasks``).
///
/// A task per deadline cost each request two tasks, two kernel timers and the dispatch manager's
/// wake-ups: at 10 000 requests a second over one `MonitorClient` that was the largest part of
/// the client's CPU. Here a deadline is a heap entry; the one task sleeps until the earliest and
/// is replaced only when a deadline earlier than the one it sleeps for arrives (rare: a client's
/// calls mostly use the same timeouts, so each new deadline is the latest).
///
/// A cancelled deadline leaves its heap entry behind until it comes up (or the heap is rebuilt
/// when such entries outnumber the live ones), so cancelling costs a dictionary removal.
final class ClientTimers: Sendable {
    /// A scheduled deadline, to cancel it.
    struct Token: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    private struct Entry: Comparable {
        var deadline: Duration
        var id: UInt64
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
    }

    private struct State {
        var heap = Heap<Entry>()
        /// The deadlines not cancelled nor fired, and what each does.
        var live: [UInt64: (deadline: Duration, action: @Sendable () -> Void)] = [:]
        var nextID: UInt64 = 0
        var sleeper: Task<Void, Never>?
        /// The deadline the sleeper sleeps for, and which sleeper it is.
        var sleepingUntil: Duration?
        var generation: UInt64 = 0
        var stopped = false
    }

    private let timebase: Timebase
    private let state = LockedState(State())

    /// Timers on `timebase`.
    init(timebase: Timebase) { self.timebase = timebase }

    /// Runs `action` at `deadline` (on the sleeper's task) unless cancelled first; after
    /// ``shutdown()``, never.
    @discardableResult
    func schedule(at deadline: Duration, _ action: @escaping @Sendable () -> Void) -> Token {
        state.withLock { state in
            state.nextID += 1
            let token = Token(id: state.nextID)
            guard !state.stopped else { return token }
            state.live[token.id] = (deadline, action)
            state.heap.insert(Entry(deadline: deadline, id: token.id))
            if state.heap.count > 2 * state.live.count + 1024 {
                state.heap = Heap(state.live.map { Entry(deadline: $0.value.deadline, id: $0.key) })
            }
            if state.sleepingUntil.map({ deadline < $0 }) ?? true { startSleeper(&state, until: deadline) }
            return token
        }
    }

    /// Forgets `token`'s deadline: its action will not run (it may be running now).
    func cancel(_ token: Token) {
        _ = state.withLock { $0.live.removeValue(forKey: token.id) }
    }

    /// Forgets every deadline and stops the sleeper.
    func shutdown() {
        state.withLock { state in
            state.stopped = true
            state.live.removeAll()
            state.heap = Heap()
            state.sleeper?.cancel()
            state.sleeper = nil
            state.sleepingUntil = nil
        }
    }

    private func startSleeper(_ state: inout State, until deadline: Duration) {
        state.sleeper?.cancel()
        state.generation += 1
        state.sleepingUntil = deadline
        let generation = state.generation
        state.sleeper = Task { await self.sleep(until: deadline, generation: generation) }
    }

    /// Sleeps until `deadline`, runs what is due, and goes on to the next deadline; ends when
    /// none is left or a newer sleeper replaced it.
    private func sleep(until first: Duration, generation: UInt64) async {
        var deadline = first
        while true {
            // A deadline already passed (the actions of the last round took that long) is served
            // without a sleep: a test clock would hold even a sleep until now to its next advance.
            if timebase.now < deadline {
                do { try await timebase.sleep(until: deadline) } catch { return }
            } else if Task.isCancelled {
                return
            }
            let now = max(timebase.now, deadline)
            let (due, next) = state.withLock { state -> ([@Sendable () -> Void], Duration?) in
                guard state.generation == generation else { return ([], nil) }
                var due: [@Sendable () -> Void] = []
                while let top = state.heap.min, top.deadline <= now || state.live[top.id] == nil {
                    state.heap.removeMin()
                    if let entry = state.live.removeValue(forKey: top.id) { due.append(entry.action) }
                }
                state.sleepingUntil = state.heap.min?.deadline
                if state.sleepingUntil == nil { state.sleeper = nil }
                return (due, state.sleepingUntil)
            }
            for action in due { action() }
            guard let next else { return }
            deadline = next
        }
    }
}
