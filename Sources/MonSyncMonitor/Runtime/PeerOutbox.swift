import Logging
import MonSyncCore
import Synchronization

/// Sends a monitor's messages without making the monitor wait: one FIFO queue and one task per peer.
///
/// The monitor's state machine never suspends on a send (a slow or dead peer
/// must not stall an election or a commit), yet Paxos needs per-peer order
/// (BEGIN before COMMIT, COMMIT before LEASE). So each peer gets its own
/// queue drained by its own task, which awaits the dispatcher's send in
/// order; a failed send is counted and logged, and the next message goes on.
/// Each queue is bounded: past ``capacity`` waiting messages a new one is
/// dropped and counted (the protocol recovers lost messages with its timeouts).
final class PeerOutbox: Sendable {
    private struct State {
        var queues: [TransportAddress: AsyncStream<any WireMessage>.Continuation] = [:]
        var tasks: [Task<Void, Never>] = []
        var closed = false
    }

    private let dispatcher: Dispatcher
    private let logger: Logger
    private let capacity: Int
    private let state = Mutex(State())
    private let failures = Atomic<Int>(0)

    init(dispatcher: Dispatcher, logger: Logger, capacity: Int = 4096) {
        self.dispatcher = dispatcher
        self.logger = logger
        self.capacity = capacity
    }

    /// Sends that failed (peer unreachable, timed out, …).
    var sendFailures: Int { failures.load(ordering: .relaxed) }

    /// Queues `message` for `peer`; returns at once.
    func send(_ message: any WireMessage, to peer: TransportAddress) {
        let continuation = state.withLock { state -> AsyncStream<any WireMessage>.Continuation? in
            guard !state.closed else { return nil }
            if let existing = state.queues[peer] { return existing }
            let (stream, continuation) = AsyncStream.makeStream(of: (any WireMessage).self, bufferingPolicy: .bufferingOldest(capacity))
            state.queues[peer] = continuation
            state.tasks.append(Task { [self] in
                for await message in stream {
                    do {
                        try await Self.send(message, to: peer, through: dispatcher)
                    } catch {
                        failures.add(1, ordering: .relaxed)
                        logger.debug("send failed", metadata: ["peer": "\(peer)", "message": "\(message)", "error": "\(error)"])
                    }
                }
            })
            return continuation
        }
        if case .dropped = continuation?.yield(message) {
            failures.add(1, ordering: .relaxed)
            logger.warning("outbox full; message dropped", metadata: ["peer": "\(peer)", "message": "\(message)"])
        }
    }

    private static func send(_ message: any WireMessage, to peer: TransportAddress, through dispatcher: Dispatcher) async throws(DispatchError) {
        func open<M: WireMessage>(_ message: M) async throws(DispatchError) { try await dispatcher.send(message, to: peer) }
        try await open(message)
    }

    /// Stops accepting messages, lets the queues drain, and waits for the tasks.
    func close() async {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.closed = true
            for continuation in state.queues.values { continuation.finish() }
            state.queues.removeAll()
            return state.tasks
        }
        for task in tasks { await task.value }
    }
}
