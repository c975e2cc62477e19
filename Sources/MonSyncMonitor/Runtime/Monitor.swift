public import Logging
public import MonSyncCore
public import MonSyncStore

/// One monitor of the cluster: probe, election, Single-Paxos, trim, and the client command path.
///
/// A monitor is an actor: every message handler and timer runs on it one at a
/// time and never suspends in the middle of a state change, so the state
/// machine (``MonitorState``) has no interleavings to reason about. Messages
/// arrive through its ``dispatcher`` (whichever transport it was given) and
/// leave through per-peer queues that never make it wait. Every timer sleeps
/// on the injected ``Timebase``, so tests drive time with a test clock.
///
/// ```swift
/// let monitor = try Monitor(monmap: monmap, name: "a", transport: transport, store: store)
/// try await monitor.start()
/// …
/// await monitor.stop()
/// ```
public actor Monitor {
    /// The cluster's membership.
    public nonisolated let monmap: MonMap
    /// This monitor's rank.
    public nonisolated let rank: Int32
    /// This monitor's name.
    public nonisolated let name: String
    /// The dispatcher this monitor's messages go through; a store sync registers its MMonSync handlers here.
    public nonisolated let dispatcher: Dispatcher
    /// The store the monitor replicates into.
    public nonisolated let store: any MonitorStore
    /// Timers and Paxos settings.
    public nonisolated let configuration: MonitorConfiguration
    /// The registered services; ``syncTargetNames`` derives from it.
    public nonisolated let services: ServiceRegistry
    /// The key-value service.
    public nonisolated let keyValue = KeyValueService()

    let timebase: Timebase
    let log: PaxosLog
    nonisolated let outbox: PeerOutbox
    let trimPolicy: TrimPolicy
    let metrics: MonitorMetrics
    var logger: Logger

    // MARK: State

    /// The monitor's state.
    public internal(set) var state: MonitorState = .probing {
        didSet { if state != oldValue { metrics.record(state: state) } }
    }
    /// The election epoch: odd while electing, even while a quorum is stable.
    public internal(set) var electionEpoch: UInt32 = 0
    /// The quorum's ranks while in one.
    public internal(set) var quorum: [Int32] = []
    /// The leader's rank while in a quorum.
    public internal(set) var leader: Int32?
    /// The last decision probing made.
    public internal(set) var lastJoinDecision: JoinDecision?
    /// Counters.
    public internal(set) var statistics = MonitorStatistics() {
        didSet {
            metrics.record(from: oldValue, to: statistics)
            if statistics.commits != oldValue.commits {
                metrics.record(firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted)
            }
        }
    }

    var started = false
    var probe = ProbeState()
    var elector = ElectorState()
    var paxos = PaxosState()
    var timers = TimerTable()
    var trimHolds = TrimHolds()
    var pendingWrites: [PendingWrite] = []
    var pendingServiceProposals: [ServiceProposal] = []
    var serviceWaiters: [UInt64: CheckedContinuation<Result<UInt64, ProposalError>, Never>] = [:]
    var nextServiceProposalID: UInt64 = 0
    var dispatchTask: Task<Void, Never>?
    weak var syncDelegate: (any StoreSyncDelegate)?

    /// Creates a monitor; call ``start()`` to run it.
    ///
    /// - Parameters:
    ///   - monmap: the cluster's membership.
    ///   - name: this monitor's name in `monmap`.
    ///   - transport: a transport, not yet started, listening on this monitor's monmap address.
    ///   - store: the monitor's store (its Paxos log and service data persist there).
    ///   - configuration: timers and Paxos settings.
    ///   - timebase: the clock of every timer.
    ///   - services: extra services to register beside Paxos and the key-value service.
    ///   - logger: the base logger.
    /// - Throws: ``MonitorError`` if the name is not in the map, the transport listens elsewhere,
    ///   a service cannot be registered, or the store cannot be read.
    public init(monmap: MonMap, name: String, transport: any MessageTransport, store: any MonitorStore,
                configuration: MonitorConfiguration = .default, timebase: Timebase = .continuous,
                services extraServices: [any MonitorService] = [],
                logger: Logger = Logger(label: "monsync.monitor")) throws(MonitorError) {
        guard let me = monmap.member(named: name) else { throw .notInMonmap(name) }
        guard monmap.address(of: me.rank) == transport.localAddress else {
            throw .addressMismatch(name: name, monmap: me.address, transport: transport.localAddress.description)
        }
        var registry = ServiceRegistry()
        do {
            try registry.register(KeyValueService())
            for service in extraServices { try registry.register(service) }
        } catch { throw .service(error) }
        self.monmap = monmap
        self.rank = me.rank
        self.name = name
        self.store = store
        self.configuration = configuration
        self.timebase = timebase
        self.services = registry
        self.log = PaxosLog(store: store)
        self.trimPolicy = TrimPolicy(configuration)
        self.metrics = MonitorMetrics(name: name)
        var logger = logger
        logger[metadataKey: "mon"] = "\(name)"
        self.logger = logger
        let dispatcher = Dispatcher(transport: transport, codec: .monitor(), logger: logger)
        self.dispatcher = dispatcher
        let peers = Set(monmap.ranks.filter { $0 != me.rank }.compactMap { monmap.address(of: $0) })
        self.outbox = PeerOutbox(dispatcher: dispatcher, logger: logger, peers: peers)
        do {
            // Clamped as received epochs are (MMonElection refuses the last few values), so `+ 1` never overflows.
            let stored = try store.getUInt64(ServiceRegistry.bookkeepingPrefix, Self.electionEpochKey) ?? 0
            electionEpoch = UInt32(min(stored, UInt64(UInt32.max - 4)))
            paxos = try PaxosState.load(from: store)
        } catch { throw .store(error) }
    }

    static let electionEpochKey = "election_epoch"

    /// Ceph's `get_sync_targets_names`: the prefixes a store sync copies, derived from the registered services.
    public nonisolated var syncTargetNames: [String] { services.syncTargetNames }

    /// This monitor's entity.
    public nonisolated var entity: MonitorEntity { monmap.members[Int(rank)] }

    /// Sets (or clears) the hook a store sync implements.
    public func setSyncDelegate(_ delegate: (any StoreSyncDelegate)?) { syncDelegate = delegate }

    // MARK: Life cycle

    /// Starts the transport, begins dispatching, and bootstraps (probes the peers).
    ///
    /// - Throws: ``MonitorError/transport(_:)`` if the transport cannot start, ``MonitorError/alreadyStarted``.
    public func start() async throws(MonitorError) {
        guard !started else { throw .alreadyStarted }
        started = true
        registerHandlers()
        do { try await dispatcher.transport.start() } catch {
            state = .shutdown
            throw .transport(error)
        }
        let dispatcher = dispatcher
        dispatchTask = Task { await dispatcher.run() }
        logger.info("monitor starting", metadata: ["rank": "\(rank)", "epoch": "\(electionEpoch)",
                                                   "fc": "\(paxos.firstCommitted)", "lc": "\(paxos.lastCommitted)"])
        bootstrap(reason: "start")
    }

    /// Stops the monitor: answers waiting clients, cancels every timer, shuts the transport down.
    /// Idempotent.
    public func stop() async {
        guard state != .shutdown else { return }
        leaveQuorum(reason: "monitor shutting down")
        state = .shutdown
        timers.cancelAll()
        dispatcher.register { $0 = MessageRouter() }
        // Let the answers to waiting clients go out before the transport closes.
        await outbox.close()
        await dispatcher.transport.shutdown()
        await dispatchTask?.value
        logger.info("monitor stopped")
    }

    /// Waits until the monitor has stopped (its transport's events finished).
    public func waitUntilStopped() async {
        await dispatchTask?.value
    }

    // MARK: Status

    /// The monitor's state, rank, quorum, leader and Paxos bounds.
    public var status: MonitorStatus {
        MonitorStatus(state: state, rank: rank, name: name, electionEpoch: electionEpoch,
                      quorum: state.isInQuorum ? quorum : [], leader: state.isInQuorum ? leader : nil,
                      firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted)
    }

    /// ``status`` with the store sync's section (``MonitorStatus/sync``) from the sync delegate, if any:
    /// what a status command answers.
    public func statusWithSync() async -> MonitorStatus {
        guard let delegate = syncDelegate else { return status }
        let sync = await delegate.syncStatus(of: self)
        // Read after the await: the monitor may have moved on meanwhile.
        var current = status
        current.sync = sync
        return current
    }

    /// The first retained Paxos version.
    public var firstCommitted: UInt64 { paxos.firstCommitted }
    /// The last committed Paxos version.
    public var lastCommitted: UInt64 { paxos.lastCommitted }

    /// The digest of the sync targets, which must be equal on monitors at the same version.
    public func digest() throws(StoreError) -> StoreDigest { try store.digest(of: syncTargetNames) }

    // MARK: Trim hold (the sync issue's hook)

    /// Holds Paxos trimming off until the hold is released (or
    /// ``MonitorConfiguration/trimDisabledMaxVersions`` more versions are committed).
    public func holdTrim(reason: String) -> TrimHold {
        let hold = trimHolds.take(reason: reason, lastCommitted: paxos.lastCommitted)
        logger.info("trim held", metadata: ["hold": "\(hold)", "since": "\(paxos.lastCommitted)"])
        return hold
    }

    /// Releases a hold from ``holdTrim(reason:)``; a trim that became due is proposed at once.
    public func releaseTrim(_ hold: TrimHold) {
        guard trimHolds.release(hold) else { return }
        logger.info("trim released", metadata: ["hold": "\(hold)"])
        proposeNextIfIdle()
    }

    /// The number of trim holds out.
    public var trimHoldCount: Int { trimHolds.holds.count }

    /// Whether the log is long enough that a trim is due (ignoring holds): Ceph's
    /// `should_trim`, which a leader consults before granting a sync.
    public var isTrimDue: Bool {
        trimPolicy.isDue(firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted)
    }

    // MARK: Sync (the sync issue's hook)

    /// Tells the monitor that a store sync finished (or was given up): it reloads
    /// its Paxos state from the store and probes again.
    public func syncFinished() {
        guard state != .shutdown else { return }
        do { paxos = try PaxosState.load(from: store) } catch { noteStoreFailure(error, during: "reloading Paxos state after sync") }
        bootstrap(reason: "sync finished")
    }

    // MARK: Plumbing

    /// Queues `message` for the monitor of rank `peer`.
    func send(_ message: any WireMessage, toRank peer: Int32) {
        guard peer != rank, let address = monmap.address(of: peer) else { return }
        outbox.send(message, to: address)
    }

    /// Queues `message` for `address`.
    func send(_ message: any WireMessage, to address: TransportAddress) {
        outbox.send(message, to: address)
    }

    /// Arms `timer` to fire `delay` from now.
    func arm(_ timer: MonitorTimer, after delay: Duration) {
        timers.arm(timer, deadline: timebase.now + delay, timebase: timebase) { [weak self] generation in
            await self?.timerFired(timer, generation: generation)
        }
    }

    private func timerFired(_ timer: MonitorTimer, generation: UInt64) {
        guard state != .shutdown, timers.claim(timer, generation: generation) else { return }
        switch timer {
        case .probe: bootstrap(reason: "probe timeout")
        case .election: electionTimedOut()
        case .paxosRound: bootstrap(reason: "Paxos round timed out (\(paxos.phase))")
        case .leaseRenew: extendLease()
        case .leaseAck: bootstrap(reason: "lease acks missing from \(Set(quorum).subtracting(paxos.leaseAcked).sorted())")
        case .leaseTimeout: bootstrap(reason: "lease from the leader expired")
        case .propose: proposeNextIfIdle()
        case .syncRetry: bootstrap(reason: "re-probing while oblivious")
        }
    }

    /// The rank of the monitor that sent from `sender`, if it is the member it claims to be.
    func verifiedSender(_ sender: TransportAddress, claims claimed: Int32) -> Int32? {
        guard monmap.rank(of: sender) == claimed else {
            statistics.impostorMessages += 1
            logger.warning("message from an address that is not the claimed monitor", metadata: [
                "sender": "\(sender)", "claimed": "\(claimed)",
            ])
            return nil
        }
        return claimed
    }

    func noteStale(_ what: @autoclosure () -> String) {
        statistics.staleMessages += 1
        logger.debug("ignoring stale message", metadata: ["what": "\(what())", "state": "\(state)"])
    }

    func noteStoreFailure(_ error: StoreError, during what: String) {
        statistics.storeFailures += 1
        logger.error("store failure", metadata: ["during": "\(what)", "error": "\(error)"])
    }

    /// Persists the election epoch (so a restarted monitor does not reuse an old one).
    func setElectionEpoch(_ epoch: UInt32) {
        electionEpoch = epoch
        var transaction = StoreTransaction()
        transaction.put(ServiceRegistry.bookkeepingPrefix, Self.electionEpochKey, uint64: UInt64(epoch))
        do { try store.apply(transaction) } catch { noteStoreFailure(error, during: "persisting the election epoch") }
    }

    private func registerHandlers() {
        dispatcher.register { router in
            router.register(MMonProbe.self) { [weak self] message, context in
                await self?.handleProbe(message, from: context.sender)
            }
            router.register(MMonElection.self) { [weak self] message, context in
                await self?.handleElection(message, from: context.sender)
            }
            router.register(MMonPaxos.self) { [weak self] message, context in
                await self?.handlePaxos(message, from: context.sender)
            }
            router.register(MMonCommand.self) { [weak self] message, context in
                await self?.handleCommand(message, from: context.sender)
            }
        }
    }
}
