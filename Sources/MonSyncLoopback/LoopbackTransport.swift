public import MonSyncCore

/// An in-process transport endpoint: many of them in one process exchange frames through a ``LoopbackNetwork``.
///
/// It keeps the whole `MessageTransport` contract: FIFO per sender and
/// receiver, a bounded queue per sender with backpressure (a full queue makes
/// `send` wait, up to the send timeout), a typed error for a send to an address
/// nobody serves, peer up/down events, and a graceful shutdown. Messages cross
/// as the encoded bytes the codec made, never as Swift objects, so what works
/// here works over any other transport.
public final class LoopbackTransport: MessageTransport {
    public let localAddress: TransportAddress
    public let limits: TransportLimits
    /// The network this endpoint joins when it starts.
    public let network: LoopbackNetwork

    private let options: TransportOptions
    private let timebase: Timebase

    private enum Phase { case idle, running, stopped }

    private struct State {
        var phase = Phase.idle
        var inbox: LoopbackInbox
        var nextWaiterID: UInt64 = 0
    }

    private let state: LockedState<State>

    /// The default limit on queued bytes from one sender: 256 MiB.
    public static let defaultByteCapacity = 256 << 20

    /// Creates an endpoint for `address` on `network`.
    ///
    /// - Parameters:
    ///   - address: any address; its scheme is conventionally `loopback`.
    ///   - network: the network to join; ``LoopbackNetwork/shared`` by default.
    ///   - options: limits, queue capacity (messages per sender), send timeout and clock.
    ///   - byteCapacity: the most bytes queued from one sender before `send` waits.
    public init(address: TransportAddress, network: LoopbackNetwork = .shared,
                options: TransportOptions = TransportOptions(), byteCapacity: Int = LoopbackTransport.defaultByteCapacity) {
        localAddress = address
        self.network = network
        self.options = options
        limits = TransportLimits(maximumMessageSize: options.maximumMessageSize)
        timebase = Timebase(options.clock)
        state = LockedState(State(inbox: LoopbackInbox(capacity: options.queueCapacity, byteCapacity: byteCapacity)))
    }

    public func start() async throws(TransportError) {
        try state.withLock { state throws(TransportError) in
            guard state.phase == .idle else { throw .alreadyStarted }
            state.phase = .running
            state.inbox.start()
        }
        do {
            try network.join(self)
        } catch {
            _ = state.withLock { $0.inbox.close() }
            state.withLock { $0.phase = .stopped }
            throw error
        }
    }

    public func connect(to peer: TransportAddress) async throws(TransportError) {
        try ensureRunning()
        let (newlyConnected, reachable) = network.connect(from: localAddress, to: peer)
        if newlyConnected && reachable { notify(.peerUp(peer), concerning: peer) }
    }

    public func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError) {
        try ensureRunning()
        guard bytes.count <= limits.maximumMessageSize else {
            throw .messageTooLarge(size: bytes.count, limit: limits.maximumMessageSize)
        }
        let route = try network.route(from: localAddress, to: peer)
        if route.newlyConnected { notify(.peerUp(peer), concerning: peer) }
        if route.decision.drop { return }
        let deadline = timebase.now + options.sendTimeout
        try await route.target.accept(bytes, from: localAddress, decision: route.decision,
                                      reorderHold: route.reorderHold, senderTimebase: timebase, deadline: deadline)
        if route.decision.duplicate {
            try await route.target.accept(bytes, from: localAddress, decision: FaultDecision(), reorderHold: .zero,
                                          senderTimebase: timebase, deadline: deadline)
        }
    }

    public var events: TransportEvents {
        TransportEvents { [self] in await nextEvent() }
    }

    public func shutdown() async {
        let (waiters, receiver) = state.withLock { state -> ([LoopbackInbox.Waiter], LoopbackInbox.Receiver?) in
            guard state.phase != .stopped else { return ([], nil) }
            state.phase = .stopped
            return state.inbox.close()
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.peerUnreachable(localAddress))) }
        receiver?.resume(returning: nil)
        network.leave(self)
    }

    // MARK: - Internals

    private func ensureRunning() throws(TransportError) {
        guard state.withLock({ $0.phase == .running }) else { throw .notRunning }
    }

    /// Queues a peer event for this endpoint's consumer (from the network).
    func notify(_ event: TransportEvent, concerning peer: TransportAddress) {
        let delivery = state.withLock { state -> (LoopbackInbox.Receiver, TransportEvent, LoopbackInbox.Waiter?)? in
            state.inbox.enqueueEvent(event, concerning: peer)
            return Self.handOff(&state, now: timebase.now)
        }
        resume(delivery)
    }

    /// Receives one message from `sender`, waiting for room until `deadline` (on the sender's timebase).
    private func accept(_ bytes: [UInt8], from sender: TransportAddress, decision: FaultDecision,
                        reorderHold: Duration, senderTimebase: Timebase, deadline: Duration) async throws(TransportError) {
        while true {
            let outcome = state.withLock { state -> (LoopbackInbox.EnqueueResult, (LoopbackInbox.Receiver, TransportEvent, LoopbackInbox.Waiter?)?) in
                let result = state.inbox.enqueueMessage(bytes, from: sender, now: timebase.now, delay: decision.delay,
                                                        reorder: decision.reorder, reorderHold: reorderHold)
                guard case .enqueued = result else { return (result, nil) }
                let delivery = Self.handOff(&state, now: timebase.now)
                if delivery == nil { armTimerIfNeeded(&state) }
                return (result, delivery)
            }
            switch outcome.0 {
            case .enqueued:
                resume(outcome.1)
                return
            case .closed:
                throw .peerUnreachable(localAddress)
            case .full:
                try await waitForRoom(from: sender, senderTimebase: senderTimebase, deadline: deadline)
            }
        }
    }

    private func waitForRoom(from sender: TransportAddress, senderTimebase: Timebase, deadline: Duration) async throws(TransportError) {
        if senderTimebase.now >= deadline { throw .sendTimedOut(localAddress, after: options.sendTimeout) }
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = Task { [self] in
            try await senderTimebase.sleep(until: deadline)
            let waiter = state.withLock { $0.inbox.removeWaiter(id: id, for: sender) }
            waiter?.continuation.resume(returning: .failure(.sendTimedOut(localAddress, after: options.sendTimeout)))
        }
        defer { timeout.cancel() }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, TransportError>, Never>) in
                let immediate = state.withLock { state -> Result<Void, TransportError>? in
                    if Task.isCancelled { return .failure(.notRunning) }
                    guard state.inbox.running else { return .failure(.peerUnreachable(localAddress)) }
                    if state.inbox.hasRoom(for: sender) { return .success(()) }
                    state.inbox.addWaiter(LoopbackInbox.Waiter(id: id, continuation: continuation), for: sender)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: { [self] in
            let waiter = state.withLock { $0.inbox.removeWaiter(id: id, for: sender) }
            waiter?.continuation.resume(returning: .failure(.notRunning))
        }
        try result.get()
    }

    /// Fails the sends `sender` has waiting here (it shut down).
    func failWaiters(from sender: TransportAddress) {
        let waiters = state.withLock { $0.inbox.removeWaiters(from: sender) }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.notRunning)) }
    }

    private func nextEvent() async -> TransportEvent? {
        await withCheckedContinuation { (continuation: LoopbackInbox.Receiver) in
            let immediate = state.withLock { state -> (TransportEvent?, LoopbackInbox.Waiter?, Bool) in
                if let (event, waiter) = state.inbox.take(now: timebase.now) { return (event, waiter, true) }
                guard state.inbox.running else { return (nil, nil, true) }
                precondition(state.inbox.receiver == nil, "LoopbackTransport.events supports one consumer at a time")
                state.inbox.receiver = continuation
                armTimerIfNeeded(&state)
                return (nil, nil, false)
            }
            if immediate.2 {
                immediate.1?.continuation.resume(returning: .success(()))
                continuation.resume(returning: immediate.0)
            }
        }
    }

    /// If the consumer is waiting and an item is deliverable, takes it for the consumer.
    private static func handOff(_ state: inout State, now: Duration) -> (LoopbackInbox.Receiver, TransportEvent, LoopbackInbox.Waiter?)? {
        guard let receiver = state.inbox.receiver, let (event, waiter) = state.inbox.take(now: now) else { return nil }
        state.inbox.receiver = nil
        return (receiver, event, waiter)
    }

    private func resume(_ delivery: (LoopbackInbox.Receiver, TransportEvent, LoopbackInbox.Waiter?)?) {
        guard let (receiver, event, waiter) = delivery else { return }
        waiter?.continuation.resume(returning: .success(()))
        receiver.resume(returning: event)
    }

    /// When the consumer waits only on delayed items, wakes it when the earliest becomes deliverable.
    private func armTimerIfNeeded(_ state: inout State) {
        guard state.inbox.receiver != nil, let deadline = state.inbox.earliestDeadline else { return }
        if let armed = state.inbox.armedTimer, armed <= deadline { return }
        state.inbox.armedTimer = deadline
        Task { [self] in
            try? await timebase.sleep(until: deadline)
            let delivery = self.state.withLock { state -> (LoopbackInbox.Receiver, TransportEvent, LoopbackInbox.Waiter?)? in
                if state.inbox.armedTimer == deadline { state.inbox.armedTimer = nil }
                let delivery = Self.handOff(&state, now: timebase.now)
                if delivery == nil { armTimerIfNeeded(&state) }
                return delivery
            }
            resume(delivery)
        }
    }
}
