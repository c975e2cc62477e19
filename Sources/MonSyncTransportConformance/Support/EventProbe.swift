import MonSyncCore

/// The single consumer of one transport's events during a check: it pulls every event into a log
/// that the check then waits on, each wait with a deadline.
///
/// Pulling is what makes room in a transport's queues, so a check that needs a
/// receiver that does not keep up simply starts no probe (or starts it late).
final class EventProbe: Sendable {
    private struct State {
        var log: [TransportEvent] = []
        /// The messages of ``log`` in order; those before ``taken`` were handed out by ``messages(count:within:_:)``.
        var messages: [InboundMessage] = []
        var taken = 0
        var finished = false
        /// Bumped on every change, so a waiter knows whether to look again.
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    let address: TransportAddress
    private let state = LockedState(State())

    /// Starts pulling `transport.events` until the sequence finishes.
    init(_ transport: any MessageTransport) {
        address = transport.localAddress
        let events = transport.events
        Task { [self] in
            for await event in events {
                update { state in
                    state.log.append(event)
                    if case let .message(message) = event { state.messages.append(message) }
                }
            }
            update { $0.finished = true }
        }
    }

    private func update(_ body: (inout State) -> Void) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            body(&state)
            state.version &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until `condition` returns a value, re-evaluating it after every change; at most `limit`.
    private func wait<Value: Sendable>(
        _ limit: Duration, _ expectation: String,
        _ condition: @escaping @Sendable (inout State) throws(Mismatch) -> Value?
    ) async throws -> Value {
        let outcome = await withDeadline(limit) { [self] in
            while true {
                let (value, version) = try state.withLock { state throws(Mismatch) in
                    (try condition(&state), state.version)
                }
                if let value { return value }
                try Task.checkCancellation()
                await changed(since: version)
            }
        }
        switch outcome {
        case let .finished(result): return try result.get()
        case .timedOut:
            throw Mismatch(expected: "\(expectation) within \(limit)",
                           observed: "nothing more after \(limit); \(address) saw \(summary)")
        }
    }

    /// Suspends until the state changes after `version` (or the task is cancelled).
    private func changed(since version: UInt64) async {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.version != version || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Every event seen so far, in order.
    var log: [TransportEvent] { state.withLock { $0.log } }

    /// The number of events seen so far: a mark to wait for events that come after it.
    var mark: Int { state.withLock { $0.log.count } }

    /// A short account of the events seen, for failure messages.
    var summary: String {
        state.withLock { state in
            let peerEvents = state.log.compactMap { event -> String? in
                switch event {
                case let .peerUp(peer): "peerUp(\(peer))"
                case let .peerDown(peer): "peerDown(\(peer))"
                case .message: nil
                }
            }
            let messages = state.log.count - peerEvents.count
            return "\(messages) message(s); peer events [\(peerEvents.joined(separator: ", "))]"
                + (state.finished ? "; events finished" : "")
        }
    }

    /// Takes the next message not yet taken, skipping peer events (which stay in the log).
    func nextMessage(within limit: Duration, _ expectation: String) async throws -> InboundMessage {
        try await messages(count: 1, within: limit, expectation)[0]
    }

    /// Takes the next `count` messages not yet taken, skipping peer events.
    func messages(count: Int, within limit: Duration, _ expectation: String) async throws -> [InboundMessage] {
        try await wait(limit, expectation) { (state: inout State) throws(Mismatch) -> [InboundMessage]? in
            let available = state.messages.count - state.taken
            if available >= count {
                defer { state.taken += count }
                return Array(state.messages[state.taken..<state.taken + count])
            }
            if state.finished {
                throw Mismatch(expected: expectation,
                               observed: "the events sequence finished after \(available) of \(count) message(s)")
            }
            return nil
        }
    }

    /// Waits for an event at or after `mark` that `matches`, and returns its index.
    @discardableResult
    func waitForEvent(after mark: Int, within limit: Duration, _ expectation: String,
                      _ matches: @escaping @Sendable (TransportEvent) -> Bool) async throws -> Int {
        try await wait(limit, expectation) { (state: inout State) throws(Mismatch) -> Int? in
            if let index = state.log.indices.dropFirst(mark).first(where: { matches(state.log[$0]) }) { return index }
            if state.finished {
                throw Mismatch(expected: expectation, observed: "the events sequence finished without it")
            }
            return nil
        }
    }

    /// Waits for a `peerUp(peer)` at or after `mark`.
    @discardableResult
    func waitForPeerUp(_ peer: TransportAddress, after mark: Int = 0, within limit: Duration) async throws -> Int {
        try await waitForEvent(after: mark, within: limit, "peerUp(\(peer)) on \(address)'s events") {
            if case .peerUp(peer) = $0 { true } else { false }
        }
    }

    /// Waits for a `peerDown(peer)` at or after `mark`.
    @discardableResult
    func waitForPeerDown(_ peer: TransportAddress, after mark: Int = 0, within limit: Duration) async throws -> Int {
        try await waitForEvent(after: mark, within: limit, "peerDown(\(peer)) on \(address)'s events") {
            if case .peerDown(peer) = $0 { true } else { false }
        }
    }

    /// Waits until the events sequence has finished (returned `nil`).
    func waitForFinish(within limit: Duration, _ expectation: String) async throws {
        _ = try await wait(limit, expectation) { (state: inout State) throws(Mismatch) -> Bool? in
            state.finished ? true : nil
        }
    }
}
