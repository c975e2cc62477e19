#if ZeroMQ
import CZeroMQ
import MonSyncCore
import Glibc

/// One send handed to the I/O thread: the messages (one or a batch), where to, until when, and whom to tell.
struct SendRequest: Sendable {
    var id: UInt64
    var peer: TransportAddress
    /// Sent in order, each as one ZeroMQ message.
    var messages: [[UInt8]]
    /// On the transport's timebase.
    var deadline: Duration
    /// Called exactly once, on the I/O thread (or on the caller's, when the mailbox is closed).
    var completion: @Sendable (TransportBatchResult) -> Void

    func complete(sent: Int, _ failure: TransportError? = nil) {
        completion(TransportBatchResult(sent: sent, failure: failure))
    }
}

/// What callers ask of the I/O thread.
enum Command: Sendable {
    case send(SendRequest)
    case connect(TransportAddress)
    /// The timer of a waiting send fired.
    case expire(id: UInt64)
    /// The task of a waiting send was cancelled.
    case cancel(id: UInt64)
    /// An inproc endpoint of the shared context was bound (`generation` is new) or unbound.
    case inprocPresence(name: String, generation: UInt64, bound: Bool)
    case shutdown
}

/// The locked command queue from callers to the I/O thread, with the eventfd that wakes it.
///
/// The eventfd is written under the lock and closed under the lock, so a caller
/// can never write to a closed (or reused) descriptor. It is written once per
/// batch: `signalled` stays set until the I/O thread drains the batch.
final class Mailbox: Sendable {
    private struct State {
        var commands: [Command] = []
        var fd: Int32 = -1
        var isOpen = false
        var signalled = false
    }

    private let state = LockedState(State())

    /// Opens the mailbox on a fresh eventfd.
    func open() throws(TransportError) -> Int32 {
        let fd = monsync_wake_fd_create()
        guard fd >= 0 else { throw .underlying("eventfd: \(String(cString: strerror(monsync_errno())))") }
        state.withLock { state in
            state.fd = fd
            state.isOpen = true
        }
        return fd
    }

    /// Queues `command` and wakes the I/O thread; `false` once the mailbox is closed.
    func post(_ command: Command) -> Bool {
        state.withLock { state in
            guard state.isOpen else { return false }
            state.commands.append(command)
            if !state.signalled {
                state.signalled = true
                monsync_wake_fd_signal(state.fd)
            }
            return true
        }
    }

    /// Wakes the I/O thread without a command (the event queue has room again).
    func wake() {
        state.withLock { state in
            guard state.isOpen, !state.signalled else { return }
            state.signalled = true
            monsync_wake_fd_signal(state.fd)
        }
    }

    /// Called by the I/O thread when the eventfd is readable: resets it and takes the queued commands.
    func takeAll() -> [Command] {
        state.withLock { state in
            guard state.isOpen else { return [] }
            monsync_wake_fd_drain(state.fd)
            state.signalled = false
            let commands = state.commands
            state.commands.removeAll(keepingCapacity: true)
            return commands
        }
    }

    /// Closes the mailbox and its eventfd; returns what was still queued. Later posts fail.
    func close() -> [Command] {
        state.withLock { state in
            guard state.isOpen else { return [] }
            state.isOpen = false
            Glibc.close(state.fd)
            state.fd = -1
            let commands = state.commands
            state.commands.removeAll()
            return commands
        }
    }
}
#endif
