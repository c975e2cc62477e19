import DequeModule
import Logging
import MonSyncCore
import Synchronization

/// Sends a monitor's messages without making the monitor wait: one FIFO queue per destination,
/// drained in batches.
///
/// The monitor's state machine never suspends on a send (a slow or dead peer
/// must not stall an election or a commit), yet Paxos needs per-peer order
/// (BEGIN before COMMIT, COMMIT before LEASE). So each destination gets its
/// own queue of encoded messages. While nothing is in flight to a destination, a
/// message is handed to the transport at once (`MessageTransport.post`); messages
/// queued while a batch is in flight go together, as the next batch, when it
/// completes — at most one batch per destination is in flight, which keeps the
/// order on any transport, and under load one wake-up of the transport carries
/// many messages. No task runs per destination or per message. A failed send is
/// counted and logged, and the next batch goes on. Each queue is bounded: past
/// ``capacity`` waiting messages a new one is dropped and counted (the protocol
/// recovers lost messages with its timeouts).
///
/// Queues to monmap peers live as long as the outbox. Queues to anyone else
/// (clients awaiting replies) close as soon as they drain, so a monitor that
/// answers many clients keeps nothing per client.
final class PeerOutbox: Sendable {
    private struct Queue {
        /// Encoded messages not yet handed to the transport.
        var waiting: Deque<[UInt8]> = []
        /// Whether a batch to this destination is in the transport's hands.
        var inFlight = false
        var persistent: Bool
    }

    private struct State {
        var queues: [TransportAddress: Queue] = [:]
        var closed = false
        /// ``close()`` callers waiting for the batches in flight.
        var drained: [CheckedContinuation<Void, Never>] = []

        var isDrained: Bool { !queues.values.contains { $0.inFlight } }
    }

    private let dispatcher: Dispatcher
    private let logger: Logger
    private let capacity: Int
    private let maximumBatch: Int
    private let peers: Set<TransportAddress>
    private let state = LockedState(State())
    private let failures = Atomic<Int>(0)
    private let batches = Atomic<Int>(0)

    /// - Parameters:
    ///   - peers: the destinations whose queues persist (the monmap's other members).
    ///   - capacity: the most messages one destination's queue holds.
    ///   - maximumBatch: the most messages handed to the transport at once.
    init(dispatcher: Dispatcher, logger: Logger, peers: Set<TransportAddress>, capacity: Int = 4096, maximumBatch: Int = 256) {
        self.dispatcher = dispatcher
        self.logger = logger
        self.peers = peers
        self.capacity = max(1, capacity)
        self.maximumBatch = max(1, maximumBatch)
    }

    /// Sends that failed (invalid message, peer unreachable, timed out, queue full, …).
    var sendFailures: Int { failures.load(ordering: .relaxed) }

    /// Batches handed to the transport so far (for tests and diagnostics: fewer than messages under load).
    var batchesPosted: Int { batches.load(ordering: .relaxed) }

    /// Whether ``send(_:to:)`` still takes messages (``close()`` not called yet).
    var isAccepting: Bool { state.withLock { !$0.closed } }

    /// The number of open queues (for tests: client queues close once drained).
    var openQueues: Int { state.withLock { $0.queues.count } }

    /// Queues `message` for `destination`; returns at once.
    func send(_ message: any WireMessage, to destination: TransportAddress) {
        let bytes: [UInt8]
        do throws(DispatchError) { bytes = try Self.encode(message, with: dispatcher) } catch {
            failures.add(1, ordering: .relaxed)
            logger.warning("message not sent: invalid", metadata: ["to": "\(destination)", "message": "\(message)", "error": "\(error)"])
            return
        }
        enum Outcome { case queued, dropped, closed, post([[UInt8]]) }
        let outcome = state.withLock { state -> Outcome in
            guard !state.closed else { return .closed }
            var queue = state.queues.removeValue(forKey: destination) ?? Queue(persistent: peers.contains(destination))
            defer { state.queues[destination] = queue }
            if !queue.inFlight {
                queue.inFlight = true
                return .post([bytes])
            }
            guard queue.waiting.count < capacity else { return .dropped }
            queue.waiting.append(bytes)
            return .queued
        }
        switch outcome {
        case .queued, .closed: break
        case .dropped:
            failures.add(1, ordering: .relaxed)
            logger.warning("outbox full; message dropped", metadata: ["to": "\(destination)", "message": "\(message)"])
        case let .post(batch):
            post(batch, to: destination)
        }
    }

    private static func encode(_ message: any WireMessage, with dispatcher: Dispatcher) throws(DispatchError) -> [UInt8] {
        func open<M: WireMessage>(_ message: M) throws(DispatchError) -> [UInt8] { try dispatcher.encode(message) }
        return try open(message)
    }

    private func post(_ batch: [[UInt8]], to destination: TransportAddress) {
        batches.add(1, ordering: .relaxed)
        dispatcher.post(batch, to: destination) { [self] result in
            completed(batch.count, result, to: destination)
        }
    }

    /// A batch completed: counts what failed, then posts what queued meanwhile, or closes a drained client queue.
    private func completed(_ count: Int, _ result: TransportBatchResult, to destination: TransportAddress) {
        if let failure = result.failure {
            failures.add(count - result.sent, ordering: .relaxed)
            logger.debug("send failed", metadata: ["to": "\(destination)", "unsent": "\(count - result.sent)", "error": "\(failure)"])
        }
        let (next, waiters) = state.withLock { state -> ([[UInt8]]?, [CheckedContinuation<Void, Never>]) in
            guard var queue = state.queues.removeValue(forKey: destination) else { return (nil, []) }
            if queue.waiting.isEmpty {
                queue.inFlight = false
                if queue.persistent && !state.closed { state.queues[destination] = queue }
                guard state.closed, state.isDrained else { return (nil, []) }
                defer { state.drained.removeAll() }
                return (nil, state.drained)
            }
            let take = min(queue.waiting.count, maximumBatch)
            let batch = Array(queue.waiting.prefix(take))
            queue.waiting.removeFirst(take)
            state.queues[destination] = queue
            return (batch, [])
        }
        if let next { post(next, to: destination) }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops accepting messages, lets the queues drain (each batch within the transport's send
    /// timeout), and returns once nothing is in flight.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                state.closed = true
                // Drained queues are forgotten; the others go on until their last batch completes.
                state.queues = state.queues.filter { $0.value.inFlight }
                guard state.isDrained else {
                    state.drained.append(continuation)
                    return false
                }
                return true
            }
            if done { continuation.resume() }
        }
    }
}
