public import Logging
public import MonSyncCore
public import MonSyncMessages

/// A client of the monitors: sends ``MMonCommand``s and waits for their replies, with timeouts.
///
/// ``execute(_:at:timeout:)`` makes one attempt at one monitor. The helpers
/// (``put(_:_:timeout:)``, ``delete(_:timeout:)``, ``get(_:timeout:)``, …)
/// retry until their deadline: on NOT_LEADER they go to the named leader; on
/// NO_QUORUM, RETRY or a lost reply they try the next monitor after a pause.
/// A write keeps its tid across attempts, so the monitors apply it at most once.
public final class MonitorClient: Sendable {
    /// Identifies this client to the monitors (its writes' applied-tid record).
    public let clientID: UInt64
    /// The monitors to talk to.
    public let monmap: MonMap
    /// How long a helper waits between attempts.
    public let retryInterval: Duration

    private let dispatcher: Dispatcher
    private let timebase: Timebase
    private let logger: Logger

    private struct State {
        var nextTid: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<MMonCommandReply?, Never>] = [:]
        var preferred: Int32 = 0
        var running: Task<Void, Never>?
    }

    private let state = LockedState(State())

    /// Creates a client on `transport` (not yet started).
    ///
    /// - Parameters:
    ///   - clientID: a number no other client uses (random by default).
    ///   - timebase: the clock of every timeout and pause.
    public init(transport: any MessageTransport, monmap: MonMap, clientID: UInt64 = UInt64.random(in: 1...UInt64.max),
                timebase: Timebase = .continuous, retryInterval: Duration = .milliseconds(500),
                logger: Logger = Logger(label: "monsync.client")) {
        self.clientID = clientID
        self.monmap = monmap
        self.timebase = timebase
        self.retryInterval = retryInterval
        self.logger = logger
        dispatcher = Dispatcher(transport: transport, codec: .monitor(), logger: logger)
    }

    /// Starts the transport and the reply listener.
    public func start() async throws(TransportError) {
        dispatcher.register { router in
            router.register(MMonCommandReply.self) { [weak self] reply, _ in self?.resolve(reply) }
        }
        try await dispatcher.transport.start()
        let dispatcher = dispatcher
        state.withLock { $0.running = Task { await dispatcher.run() } }
    }

    /// Stops the transport; waiting calls return `nil` replies.
    public func shutdown() async {
        await dispatcher.transport.shutdown()
        let (task, waiters) = state.withLock { state in
            defer { state.waiters.removeAll() }
            return (state.running, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        await task?.value
    }

    /// A fresh transaction id.
    public func nextTid() -> UInt64 {
        state.withLock { state in
            state.nextTid += 1
            return state.nextTid
        }
    }

    /// Sends `command` to the monitor of rank `rank` and waits up to `timeout` for its reply.
    ///
    /// - Returns: the reply, or `nil` if none came in time (or the send failed).
    public func execute(_ command: MMonCommand, at rank: Int32, timeout: Duration = .seconds(5)) async -> MMonCommandReply? {
        guard let address = monmap.address(of: rank) else { return nil }
        let deadline = timebase.now + timeout
        let timebase = timebase
        let timer = Task { [weak self] in
            do { try await timebase.sleep(until: deadline) } catch { return }
            self?.expire(tid: command.tid)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<MMonCommandReply?, Never>) in
            state.withLock { $0.waiters[command.tid] = continuation }
            // The timer may have fired before the waiter was registered.
            if timebase.now >= deadline { expire(tid: command.tid) }
            Task {
                do { try await dispatcher.send(command, to: address) } catch {
                    logger.debug("command send failed", metadata: ["to": "\(address)", "error": "\(error)"])
                    self.expire(tid: command.tid)
                }
            }
        }
    }

    /// Runs `command` until a definite answer or `timeout`, moving between monitors as their replies direct.
    ///
    /// - Throws: ``MonitorClientError/timedOut(lastReply:)`` when no definite answer came in time.
    public func submit(_ command: MMonCommand, timeout: Duration = .seconds(60),
                       attemptTimeout: Duration = .seconds(5)) async throws(MonitorClientError) -> MMonCommandReply {
        let deadline = timebase.now + timeout
        var target = state.withLock { $0.preferred }
        var lastReply: MMonCommandReply?
        var redirected = false
        while timebase.now < deadline {
            let reply = await execute(command, at: target, timeout: min(attemptTimeout, max(.milliseconds(1), deadline - timebase.now)))
            lastReply = reply ?? lastReply
            switch reply?.result {
            case .ok?, .notFound?, .invalid?, .failed?:
                state.withLock { $0.preferred = target }
                return reply!
            case .notLeader?:
                target = reply?.leader.map(\.rank) ?? (target + 1) % Int32(monmap.count)
                // Follow one redirect at once; pause before the next, so stale redirects cannot spin.
                if !redirected {
                    redirected = true
                    continue
                }
            case .noQuorum?, .retry?, nil:
                // Try the leader if the reply named one, else the next monitor.
                if let leader = reply?.leader?.rank, leader != target { target = leader } else {
                    target = (target + 1) % Int32(monmap.count)
                }
            }
            redirected = false
            do { try await timebase.sleep(for: retryInterval) } catch { throw .cancelled }
        }
        throw .timedOut(lastReply: lastReply)
    }

    /// Sets `key` to `value`; returns the Paxos version it was committed in (0 if it was already applied).
    @discardableResult
    public func put<C: Collection<UInt8>>(_ key: String, _ value: C, timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> UInt64 {
        let reply = try await submit(MMonCommand(op: .put, clientID: clientID, tid: nextTid(), key: key, value: value), timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        return reply.version
    }

    /// Removes `key`; returns the Paxos version of the removal.
    @discardableResult
    public func delete(_ key: String, timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> UInt64 {
        let reply = try await submit(MMonCommand(op: .delete, clientID: clientID, tid: nextTid(), key: key), timeout: timeout)
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

    /// The keys starting with `prefix`.
    public func list(prefix: String = "", timeout: Duration = .seconds(60)) async throws(MonitorClientError) -> [String] {
        let reply = try await submit(MMonCommand(op: .list, clientID: clientID, tid: nextTid(), key: prefix), timeout: timeout)
        guard reply.result == .ok else { throw .refused(reply) }
        return reply.keys
    }

    /// The status of the monitor of rank `rank`, or `nil` if it did not answer in time.
    public func status(of rank: Int32, timeout: Duration = .seconds(5)) async -> MonitorStatus? {
        await execute(MMonCommand(op: .status, clientID: clientID, tid: nextTid()), at: rank, timeout: timeout)?.status
    }

    private func resolve(_ reply: MMonCommandReply) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: reply.tid) }
        waiter?.resume(returning: reply)
    }

    private func expire(tid: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: tid) }
        waiter?.resume(returning: nil)
    }
}
