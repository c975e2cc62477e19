import DequeModule
import MonSyncCore

/// A queue between message handlers and a role's run loop, whose reader waits with a timeout.
///
/// Handlers `post` without waiting; the run loop calls ``next(timeout:)``,
/// which returns `nil` when nothing arrived in time (measured on the role's
/// ``Timebase``, so tests drive it with a test clock). One reader at a time.
/// The queue is bounded by what peers may send (a window of chunks), and
/// ``close()`` ends the reader's wait.
final class SyncMailbox<Event: Sendable>: Sendable {
    private struct State {
        var events: Deque<Event> = []
        var reader: CheckedContinuation<Event?, Never>?
        var readerID: UInt64 = 0
        /// Set by a timer that fired before its reader registered, so the reader does not wait.
        var expiredID: UInt64 = 0
        var closed = false
    }

    private let state = LockedState(State())
    private let timebase: Timebase
    /// Events kept at most; older ones are dropped first (a misbehaving peer cannot grow memory).
    let capacity: Int

    init(timebase: Timebase, capacity: Int = 4096) {
        self.timebase = timebase
        self.capacity = capacity
    }

    /// Queues `event` for the run loop. Returns false if the mailbox is closed or full.
    ///
    /// - Parameter force: queue even when full (the reader's own timers, which must never be lost).
    @discardableResult
    func post(_ event: Event, force: Bool = false) -> Bool {
        let (accepted, reader) = state.withLock { state -> (Bool, CheckedContinuation<Event?, Never>?) in
            guard !state.closed else { return (false, nil) }
            if let reader = state.reader {
                state.reader = nil
                return (true, reader)
            }
            guard force || state.events.count < capacity else { return (false, nil) }
            state.events.append(event)
            return (true, nil)
        }
        reader?.resume(returning: event)
        return accepted
    }

    /// The next event, or `nil` after `timeout` without one (or once closed).
    func next(timeout: Duration) async -> Event? {
        let deadline = timebase.now + timeout
        let id = state.withLock { state -> UInt64 in
            state.readerID += 1
            return state.readerID
        }
        let timer = Task { [timebase] in
            try await timebase.sleep(until: deadline)
            self.expire(id)
        }
        defer { timer.cancel() }
        // A cancelled wait ends at once, as if it had timed out: the caller checks for cancellation
        // (a sync being stopped must not sit out a chunk timeout of tens of seconds first).
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> (Bool, Event?) in
                    if let event = state.events.popFirst() { return (true, event) }
                    if state.closed || state.expiredID == id { return (true, nil) }
                    state.reader = continuation
                    return (false, nil)
                }
                if immediate.0 { continuation.resume(returning: immediate.1) }
            }
        } onCancel: {
            expire(id)
        }
    }

    /// The next event, or `nil` once closed or when the calling task is cancelled.
    func next() async -> Event? {
        let id = state.withLock { state -> UInt64 in
            state.readerID += 1
            return state.readerID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> (Bool, Event?) in
                    if let event = state.events.popFirst() { return (true, event) }
                    if state.closed || state.expiredID == id { return (true, nil) }
                    state.reader = continuation
                    return (false, nil)
                }
                if immediate.0 { continuation.resume(returning: immediate.1) }
            }
        } onCancel: {
            expire(id)
        }
    }

    /// Ends wait `id`: resumes its reader with `nil`, or marks it so it does not start waiting.
    private func expire(_ id: UInt64) {
        let reader = state.withLock { state -> CheckedContinuation<Event?, Never>? in
            guard state.readerID == id else { return nil }
            guard let reader = state.reader else {
                state.expiredID = id
                return nil
            }
            state.reader = nil
            return reader
        }
        reader?.resume(returning: nil)
    }

    /// Ends the mailbox: a waiting reader gets `nil`, later posts are refused.
    func close() {
        let reader = state.withLock { state -> CheckedContinuation<Event?, Never>? in
            state.closed = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(returning: nil)
    }
}
