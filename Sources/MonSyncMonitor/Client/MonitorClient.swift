public import Logging
public import MonSyncCore
public import MonSyncMessages

/// A client of the monitors: sends `MMonCommand`s and waits for their replies, with timeouts.
///
/// ``execute(_:at:timeout:)`` makes one attempt at one monitor. ``submit(_:timeout:attemptTimeout:)``
/// and the helpers built on it (``put(_:_:tid:timeout:)``, ``delete(_:tid:timeout:)``,
/// ``get(_:timeout:)``, ``list(prefix:after:limit:timeout:)``) *hunt*: a first attempt goes to the
/// monitor that answered last, or, when there is none or it does not answer within
/// ``attemptTimeout``, to every monitor at once; the first definite answer wins, NOT_LEADER goes
/// straight to the named leader, and the client remembers the monitor that answered for its next
/// calls (``preferredMonitor``). So one monitor that is down or partitioned costs a fresh client
/// nothing and a warm one one attempt timeout. A write keeps its tid across every attempt and
/// copy, so the monitors apply it at most once (the tid is why parallel copies are safe: the leader applies it once).
///
/// Requests no monitor would serve (an empty key, a key or value over the limits) are refused
/// here, before anything is sent (``MonitorClientError/invalidRequest(_:)``).
public final class MonitorClient: Sendable {
    /// Identifies this client to the monitors (its writes' applied-tid record).
    public let clientID: UInt64
    /// The monitors to talk to.
    public let monmap: MonMap
    /// How long a helper waits before hunting again after every monitor answered without settling
    /// the command (no quorum, no leader ready).
    public let retryInterval: Duration
    /// How long one attempt waits for a definite answer before the client hunts every monitor.
    public let attemptTimeout: Duration

    /// The client's dispatcher: its command replies, and what else its address receives (a
    /// backup's CHUNKs, ``SnapshotSaver``).
    let dispatcher: Dispatcher
    private let timebase: Timebase
    private let timers: ClientTimers
    /// The monmap's addresses, parsed once (every call hunts over them).
    private let monitors: [TransportAddress]
    private let logger: Logger

    private struct State {
        var nextTid: UInt64 = 0
        /// ``execute(_:at:timeout:)``'s single waiters, by tid.
        var waiters: [UInt64: CheckedContinuation<MMonCommandReply?, Never>] = [:]
        /// The event streams of hunting calls, by each tid they wait on.
        var inboxes: [UInt64: AsyncStream<ClientEvent>.Continuation] = [:]
        var preferred: TransportAddress?
        var running: Task<Void, Never>?
        var stopped = false
    }

    private let state = LockedState(State())

    /// Creates a client on `transport` (not yet started).
    ///
    /// - Parameters:
    ///   - transport: the client's own endpoint, not yet started; ``start()`` starts it. Its address
    ///     must differ from every monitor's: the monitors reply to it.
    ///   - monmap: the monitors to ask.
    ///   - clientID: a number no other client uses (random by default). Reuse one, with the same
    ///     tid, only to resend a write whose outcome is unknown.
    ///   - timebase: the clock of every timeout and pause.
    ///   - retryInterval: the pause between hunts that all came back without a definite answer.
    ///   - attemptTimeout: how long one attempt waits before the client hunts every monitor.
    ///   - logger: where the client logs failed sends and hunts.
    public init(transport: any MessageTransport, monmap: MonMap, clientID: UInt64 = UInt64.random(in: 1...UInt64.max),
                timebase: Timebase = .continuous, retryInterval: Duration = .milliseconds(500),
                attemptTimeout: Duration = .seconds(1), logger: Logger = Logger(label: "monsync.client")) {
        self.clientID = clientID
        self.monmap = monmap
        self.timebase = timebase
        self.retryInterval = retryInterval
        self.attemptTimeout = attemptTimeout
        self.logger = logger
        timers = ClientTimers(timebase: timebase)
        monitors = monmap.members.compactMap { try? TransportAddress($0.address) }
        dispatcher = Dispatcher(transport: transport, codec: .monitor(), logger: logger)
    }

    /// Starts the transport and the reply listener.
    public func start() async throws(TransportError) {
        dispatcher.register { router in
            router.register(MMonCommandReply.self) { [weak self] reply, context in self?.resolve(reply, from: context.sender) }
        }
        try await dispatcher.transport.start()
        let dispatcher = dispatcher
        state.withLock { $0.running = Task { await dispatcher.run() } }
    }

    /// Stops the transport; waiting calls return `nil` replies or throw ``MonitorClientError/cancelled``.
    public func shutdown() async {
        await dispatcher.transport.shutdown()
        timers.shutdown()
        let (task, waiters, inboxes) = state.withLock { state in
            defer {
                state.waiters.removeAll()
                state.inboxes.removeAll()
                state.stopped = true
            }
            return (state.running, Array(state.waiters.values), Array(state.inboxes.values))
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        for inbox in inboxes { inbox.finish() }
        await task?.value
    }

    /// A fresh transaction id.
    public func nextTid() -> UInt64 {
        state.withLock { state in
            state.nextTid += 1
            return state.nextTid
        }
    }

    /// The monitor that gave this client its last definite answer, tried first by the next call.
    public var preferredMonitor: TransportAddress? { state.withLock { $0.preferred } }

    /// Sends `command` to the monitor of rank `rank` and waits up to `timeout` for its reply.
    ///
    /// - Returns: the reply, or `nil` if none came in time (or the send failed).
    public func execute(_ command: MMonCommand, at rank: Int32, timeout: Duration = .seconds(5)) async -> MMonCommandReply? {
        guard let address = monmap.address(of: rank) else { return nil }
        let deadline = timebase.now + timeout
        let timer = timers.schedule(at: deadline) { [weak self] in self?.expire(tid: command.tid) }
        defer { timers.cancel(timer) }
        return await withCheckedContinuation { (continuation: CheckedContinuation<MMonCommandReply?, Never>) in
            state.withLock { $0.waiters[command.tid] = continuation }
            // The timer may have fired before the waiter was registered.
            if timebase.now >= deadline { expire(tid: command.tid) }
            post(command, to: address) { [self] in expire(tid: command.tid) }
        }
    }

    /// Runs `command` until a definite answer or `timeout`, hunting the monitors as described above.
    ///
    /// - Parameters:
    ///   - command: the command; its `clientID` and `tid` make a resent write apply at most once.
    ///   - timeout: how long the whole call may take, every attempt and pause included.
    ///   - attemptTimeout: how long one attempt waits; ``attemptTimeout`` when `nil`.
    /// - Returns: a reply with a definite result (OK, NOT_FOUND, INVALID, FAILED, TOO_LARGE).
    /// - Throws: ``MonitorClientError/invalidRequest(_:)`` at once for a request no monitor would
    ///   serve; ``MonitorClientError/outcomeUnknown(tid:lastReply:)`` when a write got no definite
    ///   answer in time and a copy of it may have been applied; ``MonitorClientError/timedOut(lastReply:)``
    ///   when a read got none, or a write was certainly not applied (every copy was refused or never sent).
    public func submit(_ command: MMonCommand, timeout: Duration = .seconds(60),
                       attemptTimeout: Duration? = nil) async throws(MonitorClientError) -> MMonCommandReply {
        if let (_, message) = command.requestError { throw .invalidRequest(message) }
        let attemptTimeout = attemptTimeout ?? self.attemptTimeout
        let deadline = timebase.now + timeout
        let (events, inbox) = AsyncStream.makeStream(of: ClientEvent.self)
        guard register(inbox, for: [command.tid]) else { throw .cancelled }
        var timers: [ClientTimers.Token] = [after(deadline, inbox, .deadline)]
        defer {
            unregister([command.tid])
            for timer in timers { self.timers.cancel(timer) }
        }

        var hunt = CommandHunt(isWrite: command.op.isWrite, monitors: monitors, preferred: preferredMonitor)
        func perform(_ actions: [CommandHunt.Action]) {
            for action in actions {
                switch action {
                case let .send(peer, attempt):
                    send(command, to: peer, attempt: attempt, inbox: inbox)
                case let .armAttemptTimer(attempt):
                    timers.append(after(min(timebase.now + attemptTimeout, deadline), inbox, .attemptExpired(attempt)))
                case let .armPause(attempt):
                    timers.append(after(min(timebase.now + retryInterval, deadline), inbox, .pauseOver(attempt)))
                }
            }
        }
        perform(hunt.start())
        for await event in events {
            switch event {
            case let .reply(reply, sender):
                switch hunt.replied(reply) {
                case let .settled(reply):
                    // The monitor that answered is alive and, for writes and reads, the leader: start there next time.
                    state.withLock { $0.preferred = sender }
                    return reply
                case let .next(actions):
                    perform(actions)
                }
            case let .sendFailed(peer, attempt):
                perform(hunt.sendFailed(to: peer, attempt: attempt))
            case let .attemptExpired(attempt):
                if attempt == hunt.attempt { logger.debug("attempt timed out; hunting", metadata: ["tid": "\(command.tid)"]) }
                perform(hunt.attemptExpired(attempt))
            case let .pauseOver(attempt):
                perform(hunt.pauseOver(attempt))
            case .deadline:
                // The monitor we preferred gave no answer in time: hunt from scratch next time.
                state.withLock { $0.preferred = nil }
                if hunt.mayHaveApplied { throw .outcomeUnknown(tid: command.tid, lastReply: hunt.lastReply) }
                throw .timedOut(lastReply: hunt.lastReply)
            }
        }
        // The stream ended: the client shut down, or the calling task was cancelled.
        throw .cancelled
    }

    /// Sets `key` to `value`; returns the Paxos version it was committed in (0 if it was already applied).
    ///
    /// - Parameters:
    ///   - key: the key, at most 1 KiB of UTF-8, not empty.
    ///   - value: the value, at most 16 MiB.
    ///   - tid: the write's tid; a fresh one when `nil`. Pass the tid of an earlier write of
    ///     this client (same ``clientID``) whose outcome is unknown to resend it: it is applied at most once.
    ///   - timeout: how long the call may take; see ``submit(_:timeout:attemptTimeout:)``.
    /// - Throws: what ``submit(_:timeout:attemptTimeout:)`` throws, or ``MonitorClientError/refused(_:)``
    ///   when the answer is definite but not OK.
    @discardableResult
    public func put<C: Collection<UInt8>>(_ key: String, _ value: C, tid: UInt64? = nil,
                                          timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> UInt64 {
        let reply = try await submit(MMonCommand(op: .put, clientID: clientID, tid: tid ?? nextTid(), key: key, value: value), timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        return reply.version
    }

    /// Removes `key`; returns the Paxos version of the removal.
    ///
    /// - Parameters:
    ///   - key: the key to remove; removing a key that does not exist succeeds.
    ///   - tid: as for ``put(_:_:tid:timeout:)``.
    ///   - timeout: how long the call may take; see ``submit(_:timeout:attemptTimeout:)``.
    /// - Throws: as ``put(_:_:tid:timeout:)`` does.
    @discardableResult
    public func delete(_ key: String, tid: UInt64? = nil, timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> UInt64 {
        let reply = try await submit(MMonCommand(op: .delete, clientID: clientID, tid: tid ?? nextTid(), key: key), timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        return reply.version
    }

    /// Adds the monitor `name` at `address` to the monmap; returns the Paxos version of the change
    /// (0 when `name` already was a member at `address`: nothing changed).
    ///
    /// The leader commits the next monmap epoch through Paxos with the current quorum, then every
    /// monitor follows the new map (see <doc:ChangingMembership>). One change at a time: while
    /// another is being committed the leader answers RETRY, and this call retries until `timeout`.
    ///
    /// - Throws: what ``submit(_:timeout:attemptTimeout:)`` throws, or ``MonitorClientError/refused(_:)``
    ///   (INVALID: the name is taken by another address, or the address by another name).
    @discardableResult
    public func addMonitor(name: String, address: String, timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> UInt64 {
        let reply = try await submit(MMonCommand(op: .monAdd, clientID: clientID, tid: nextTid(), key: name, value: Array(address.utf8)),
                                     timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        return reply.version
    }

    /// Removes the monitor `name` from the monmap; returns the Paxos version of the change (0 when
    /// it was not a member: nothing changed).
    ///
    /// - Throws: as ``addMonitor(name:address:timeout:)`` does (INVALID: it is the last monitor).
    @discardableResult
    public func removeMonitor(name: String, timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> UInt64 {
        let reply = try await submit(MMonCommand(op: .monRemove, clientID: clientID, tid: nextTid(), key: name), timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        return reply.version
    }

    /// The value of `key`, or `nil` when there is none.
    public func get(_ key: String, timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> [UInt8]? {
        let reply = try await submit(MMonCommand(op: .get, clientID: clientID, tid: nextTid(), key: key), timeout: timeout)
        switch reply.result {
        case .ok: return Array(reply.value)
        case .notFound: return nil
        default: throw .refused(reply)
        }
    }

    /// One page of the keys starting with `prefix`: at most `limit` (0: the monitor's page size,
    /// 10 000) strictly after `after`, ascending, and whether more follow.
    public func list(prefix: String = "", after: String = "", limit: UInt32 = 0,
                     timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> (keys: [String], more: Bool) {
        let command = MMonCommand(op: .list, clientID: clientID, tid: nextTid(), key: prefix, after: after, limit: limit)
        let reply = try await submit(command, timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        // A monitor that predates paging ignores `after`: keep only what is past it, and call a page
        // that brings nothing new the last one, so a caller that pages cannot loop.
        let keys = after.isEmpty ? reply.keys : reply.keys.filter { after.utf8.lexicographicallyPrecedes($0.utf8) }
        return (keys, reply.more && !keys.isEmpty)
    }

    /// Every key starting with `prefix`, page after page, all within `timeout`.
    public func list(prefix: String = "", timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> [String] {
        let deadline = timebase.now + timeout
        var keys: [String] = []
        var after = ""
        while true {
            let page = try await list(prefix: prefix, after: after, timeout: max(.zero, deadline - timebase.now))
            keys += page.keys
            guard page.more, let last = page.keys.last else { return keys }
            after = last
        }
    }

    /// The status of the monitor of rank `rank`, or `nil` if it did not answer in time.
    public func status(of rank: Int32, timeout: Duration = .seconds(5)) async -> MonitorStatus? {
        await execute(MMonCommand(op: .status, clientID: clientID, tid: nextTid()), at: rank, timeout: timeout)?.status
    }

    /// Asks every monitor for its status at once, and the members the replies' monmaps name that the
    /// client's monmap lacks, as soon as it learns them.
    ///
    /// Returns when every monitor asked has answered; or when at least one has and `attemptTimeout`
    /// has passed since the last one was asked (a monitor that is down does not hold up the rest);
    /// or at `timeout`. While none has answered, it asks again every `attemptTimeout`.
    public func survey(timeout: Duration = .seconds(10), attemptTimeout: Duration? = nil) async -> StatusSurvey {
        let attemptTimeout = attemptTimeout ?? self.attemptTimeout
        let deadline = timebase.now + timeout
        var asked: [TransportAddress] = []
        var tids: [UInt64: TransportAddress] = [:]
        var replies: [TransportAddress: MMonCommandReply] = [:]
        let (events, inbox) = AsyncStream.makeStream(of: ClientEvent.self)
        var timers: [ClientTimers.Token] = [after(deadline, inbox, .deadline)]
        var window = 0
        defer {
            unregister(Array(tids.keys))
            for timer in timers { self.timers.cancel(timer) }
        }
        func ask(_ peers: [TransportAddress]) -> Bool {
            let fresh = peers.map { peer in (nextTid(), peer) }
            guard register(inbox, for: fresh.map(\.0)) else { return false }
            for (tid, peer) in fresh {
                if !asked.contains(peer) { asked.append(peer) }
                tids[tid] = peer
                send(MMonCommand(op: .status, clientID: clientID, tid: tid), to: peer, attempt: window, inbox: inbox)
            }
            window += 1
            timers.append(after(min(timebase.now + attemptTimeout, deadline), inbox, .attemptExpired(window)))
            return true
        }
        guard ask(monitors) else { return StatusSurvey(asked: asked, replies: replies) }
        events: for await event in events {
            switch event {
            case let .reply(reply, _):
                guard let peer = tids[reply.tid], reply.op == .status else { continue }
                replies[peer] = reply
                let learned = reply.monmap.compactMap { try? TransportAddress($0.address) }.filter { !asked.contains($0) }
                if !learned.isEmpty {
                    guard ask(learned) else { break events }
                } else if asked.allSatisfy({ replies[$0] != nil }) {
                    return StatusSurvey(asked: asked, replies: replies)
                }
            case let .attemptExpired(expired):
                guard expired == window else { continue }
                if !replies.isEmpty { return StatusSurvey(asked: asked, replies: replies) }
                // Nobody answered yet: ask again (a connection may have come up since).
                guard ask(asked) else { break events }
            case .deadline:
                return StatusSurvey(asked: asked, replies: replies)
            case .sendFailed, .pauseOver:
                continue
            }
        }
        return StatusSurvey(asked: asked, replies: replies)
    }

    // MARK: Plumbing

    /// Sends a copy of `command` to `peer` in the background; a failure is reported on `inbox`.
    private func send(_ command: MMonCommand, to peer: TransportAddress, attempt: Int, inbox: AsyncStream<ClientEvent>.Continuation) {
        post(command, to: peer) { inbox.yield(.sendFailed(peer, attempt: attempt)) }
    }

    /// Hands `command` to the transport without a task or a wait; `failed` runs if it cannot be sent.
    private func post(_ command: MMonCommand, to peer: TransportAddress, failed: @escaping @Sendable () -> Void) {
        let logger = logger
        let bytes: [UInt8]
        do throws(DispatchError) { bytes = try dispatcher.encode(command) } catch {
            logger.debug("command send failed", metadata: ["to": "\(peer)", "error": "\(error)"])
            return failed()
        }
        dispatcher.post([bytes], to: peer) { result in
            guard let failure = result.failure else { return }
            logger.debug("command send failed", metadata: ["to": "\(peer)", "error": "\(failure)"])
            failed()
        }
    }

    /// Yields `event` on `inbox` at `instant` (unless cancelled first).
    private func after(_ instant: Duration, _ inbox: AsyncStream<ClientEvent>.Continuation,
                       _ event: ClientEvent) -> ClientTimers.Token {
        timers.schedule(at: instant) { inbox.yield(event) }
    }

    /// Routes the replies to `tids` to `inbox`; `false` once the client has shut down.
    private func register(_ inbox: AsyncStream<ClientEvent>.Continuation, for tids: [UInt64]) -> Bool {
        state.withLock { state in
            guard !state.stopped else { return false }
            for tid in tids { state.inboxes[tid] = inbox }
            return true
        }
    }

    private func unregister(_ tids: [UInt64]) {
        let inboxes = state.withLock { state in tids.compactMap { state.inboxes.removeValue(forKey: $0) } }
        for inbox in inboxes { inbox.finish() }
    }

    private func resolve(_ reply: MMonCommandReply, from sender: TransportAddress) {
        // A hunting call may get several replies to one tid (one per copy): it sees them all.
        // A single attempt takes the first.
        let (inbox, waiter) = state.withLock { state -> (AsyncStream<ClientEvent>.Continuation?, CheckedContinuation<MMonCommandReply?, Never>?) in
            if let inbox = state.inboxes[reply.tid] { return (inbox, nil) }
            return (nil, state.waiters.removeValue(forKey: reply.tid))
        }
        inbox?.yield(.reply(reply, from: sender))
        waiter?.resume(returning: reply)
    }

    private func expire(tid: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: tid) }
        waiter?.resume(returning: nil)
    }
}
