import Logging
import MonSyncCore
import Synchronization

/// Sends a monitor's messages without making the monitor wait: one FIFO queue and one task per destination.
///
/// The monitor's state machine never suspends on a send (a slow or dead peer
/// must not stall an election or a commit), yet Paxos needs per-peer order
/// (BEGIN before COMMIT, COMMIT before LEASE). So each destination gets its
/// own queue drained by its own task, which awaits the dispatcher's send in
/// order; a failed send is counted and logged, and the next message goes on.
/// Each queue is bounded: past ``capacity`` waiting messages a new one is
/// dropped and counted (the protocol recovers lost messages with its timeouts).
///
/// Queues to monmap peers live as long as the outbox. Queues to anyone else
/// (clients awaiting replies) close as soon as they drain, so a monitor that
/// answers many clients does not keep a task per client forever.
final class PeerOutbox: Sendable {
    private struct Queue {
        var continuation: AsyncStream<any WireMessage>.Continuation
        /// Messages yielded and not yet sent.
        var pending = 0
        var persistent: Bool
    }

    private struct State {
        var queues: [TransportAddress: Queue] = [:]
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var nextTaskID: UInt64 = 0
        var closed = false
    }

    private let dispatcher: Dispatcher
    private let logger: Logger
    private let capacity: Int
    private let peers: Set<TransportAddress>
    private let state = LockedState(State())
    private let failures = Atomic<Int>(0)

    /// - Parameter peers: the destinations whose queues persist (the monmap's other members).
    init(dispatcher: Dispatcher, logger: Logger, peers: Set<TransportAddress>, capacity: Int = 4096) {
        self.dispatcher = dispatcher
        self.logger = logger
        self.peers = peers
        self.capacity = capacity
    }

    /// Sends that failed (peer unreachable, timed out, queue full, …).
    var sendFailures: Int { failures.load(ordering: .relaxed) }

    /// The number of open queues (for tests: client queues close once drained).
    var openQueues: Int { state.withLock { $0.queues.count } }

    /// Queues `message` for `destination`; returns at once.
    func send(_ message: any WireMessage, to destination: TransportAddress) {
        // Yield under the lock, so a draining task that finds `pending == 0` knows the stream is empty.
        let result = state.withLock { state -> AsyncStream<any WireMessage>.Continuation.YieldResult? in
            guard !state.closed else { return nil }
            if state.queues[destination] == nil { open(destination, in: &state) }
            state.queues[destination]!.pending += 1
            let result = state.queues[destination]!.continuation.yield(message)
            if case .dropped = result { state.queues[destination]!.pending -= 1 }
            return result
        }
        if case .dropped? = result {
            failures.add(1, ordering: .relaxed)
            logger.warning("outbox full; message dropped", metadata: ["to": "\(destination)", "message": "\(message)"])
        }
    }

    private func open(_ destination: TransportAddress, in state: inout State) {
        let (stream, continuation) = AsyncStream.makeStream(of: (any WireMessage).self, bufferingPolicy: .bufferingOldest(capacity))
        state.queues[destination] = Queue(continuation: continuation, persistent: peers.contains(destination))
        let id = state.nextTaskID
        state.nextTaskID += 1
        state.tasks[id] = Task { [self] in
            for await message in stream {
                do {
                    try await Self.send(message, to: destination, through: dispatcher)
                } catch {
                    failures.add(1, ordering: .relaxed)
                    logger.debug("send failed", metadata: ["to": "\(destination)", "message": "\(message)", "error": "\(error)"])
                }
                sent(to: destination)
            }
            _ = self.state.withLock { $0.tasks.removeValue(forKey: id) }
        }
    }

    /// Notes one message sent; closes a drained queue that is not a peer's.
    private func sent(to destination: TransportAddress) {
        state.withLock { state in
            guard var queue = state.queues[destination] else { return }
            queue.pending -= 1
            if queue.pending == 0 && !queue.persistent {
                queue.continuation.finish()
                state.queues[destination] = nil
            } else {
                state.queues[destination] = queue
            }
        }
    }

    private static func send(_ message: any WireMessage, to peer: TransportAddress, through dispatcher: Dispatcher) async throws(DispatchError) {
        func open<M: WireMessage>(_ message: M) async throws(DispatchError) { try await dispatcher.send(message, to: peer) }
        try await open(message)
    }

    /// Stops accepting messages, lets the queues drain, and waits for their tasks.
    func close() async {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.closed = true
            for queue in state.queues.values { queue.continuation.finish() }
            state.queues.removeAll()
            return Array(state.tasks.values)
        }
        for task in tasks { await task.value }
    }
}
