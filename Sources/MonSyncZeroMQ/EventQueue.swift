#if ZeroMQ
import DequeModule
import MonSyncCore

/// The bounded hand-off of inbound events from the I/O thread to the one consumer of `events`.
///
/// Messages count against a message and a byte capacity; peer events always fit.
/// When the queue is full the I/O thread stops reading its ROUTER socket (so
/// ZeroMQ's receive high-water mark and TCP push back on the senders) and the
/// consumer wakes it once taking an event has made room.
final class EventQueue: Sendable {
    private struct State {
        var items: Deque<TransportEvent> = []
        var messages = 0
        var bytes = 0
        var waiter: CheckedContinuation<TransportEvent?, Never>?
        var isClosed = false
        /// The I/O thread found the queue full and stopped reading: wake it when there is room.
        var readerPaused = false
    }

    private let state = LockedState(State())
    private let capacity: Int
    private let byteCapacity: Int
    private let mailbox: Mailbox

    init(capacity: Int, byteCapacity: Int, mailbox: Mailbox) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1, byteCapacity)
        self.mailbox = mailbox
    }

    private static func hasRoom(_ state: State, capacity: Int, byteCapacity: Int) -> Bool {
        state.messages == 0 || (state.messages < capacity && state.bytes < byteCapacity)
    }

    /// For the I/O thread: whether another message may be read; if not, remembers to be woken.
    func roomOrPause() -> Bool {
        state.withLock { state in
            if state.isClosed || Self.hasRoom(state, capacity: capacity, byteCapacity: byteCapacity) { return true }
            state.readerPaused = true
            return false
        }
    }

    /// For the I/O thread: hands `event` to the waiting consumer or queues it. Dropped once closed.
    func push(_ event: TransportEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<TransportEvent?, Never>? in
            guard !state.isClosed else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if case let .message(message) = event {
                state.messages += 1
                state.bytes += message.bytes.count
            }
            state.items.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// The consumer's `next`: the next event, or `nil` once closed (or when the consuming task is cancelled).
    func next() async -> TransportEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<TransportEvent?, Never>) in
                let (immediate, event, wake) = state.withLock { state -> (Bool, TransportEvent?, Bool) in
                    if let event = state.items.popFirst() {
                        if case let .message(message) = event {
                            state.messages -= 1
                            state.bytes -= message.bytes.count
                        }
                        var wake = false
                        if state.readerPaused && Self.hasRoom(state, capacity: capacity, byteCapacity: byteCapacity) {
                            state.readerPaused = false
                            wake = true
                        }
                        return (true, event, wake)
                    }
                    if state.isClosed || Task.isCancelled { return (true, nil, false) }
                    precondition(state.waiter == nil, "ZeroMQTransport.events supports one consumer at a time")
                    state.waiter = continuation
                    return (false, nil, false)
                }
                if wake { mailbox.wake() }
                if immediate { continuation.resume(returning: event) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Finishes the sequence: the consumer gets `nil`; queued events are dropped.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<TransportEvent?, Never>? in
            state.isClosed = true
            state.items.removeAll()
            state.messages = 0
            state.bytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
#endif
