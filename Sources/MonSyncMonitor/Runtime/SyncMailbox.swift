import DequeModule
import MonSyncCore

/// A queue between message handlers and a driver's run loop: handlers and timers post without
/// waiting; the run loop takes one event at a time.
///
/// Bounded: a peer may have only a window of chunks in flight, so past ``capacity`` a message is
/// refused (the caller counts it); the driver's own timers are always queued (`force`), because
/// losing one would leave a deadline unwatched. One reader at a time; ``close()`` ends its wait.
final class SyncMailbox<Event: Sendable>: Sendable {
    private struct State {
        var events: Deque<Event> = []
        var reader: CheckedContinuation<Event?, Never>?
        var closed = false
    }

    private let state = LockedState(State())
    /// Messages kept at most.
    let capacity: Int

    init(capacity: Int) {
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

    /// The next event, or `nil` once closed or when the calling task is cancelled.
    func next() async -> Event? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> (Bool, Event?) in
                    if let event = state.events.popFirst() { return (true, event) }
                    if state.closed || Task.isCancelled { return (true, nil) }
                    state.reader = continuation
                    return (false, nil)
                }
                if immediate.0 { continuation.resume(returning: immediate.1) }
            }
        } onCancel: {
            close()
        }
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
