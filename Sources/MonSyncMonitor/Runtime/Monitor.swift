public import Logging
public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore
public import MonSyncStoreSync
import Synchronization

/// One monitor of the cluster: probe, election, Single-Paxos, trim, the client command path,
/// and the store sync's three roles.
///
/// `Monitor` is the shell around a ``MonitorMachine``, which makes every decision (the sync's
/// leader and provider roles included). The actor feeds the machine one input at a time — a
/// message from its ``dispatcher``, a timer firing, a call from a service — and executes the
/// actions the machine returns, in order: persists are written to the store (durably, before
/// anything after them), sends go to per-destination queues that never make the monitor wait,
/// timers sleep on the injected `Timebase`. Nothing suspends between an input and its actions,
/// so no handler interleaves with another's decision. The persists of one step, and of a run of
/// Paxos messages and client writes that arrived together, are written as one synced write,
/// before any action that follows the first of them.
///
/// When probing finds the monitor oblivious, the monitor runs a store sync as requester
/// (`SyncRequesterMachine`, on a task the monitor owns: ``stop()`` ends it), then rejoins.
///
/// ```swift
/// let monitor = try Monitor(monmap: monmap, name: "a", transport: transport, store: store)
/// try await monitor.start()
/// …
/// await monitor.stop()
/// ```
///
/// <doc:EmbeddingAMonitor> shows a monitor in a program of its own, and <doc:RunningAStoreSync>
/// how to watch and tune its store sync.
public actor Monitor {
    /// The cluster's membership: the newest map this monitor follows (it changes when a membership
    /// change commits, see <doc:ChangingMembership>).
    public var monmap: MonMap { machine.monmap }
    /// This monitor's rank in ``monmap``.
    public var rank: Int32 { machine.rank }
    /// This monitor's name.
    public nonisolated let name: String
    /// The dispatcher this monitor's messages go through, MMonSync included (the monitor routes the
    /// sync's ops itself: the requester's to its driver, the others through the machine).
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
    nonisolated let outbox: PeerOutbox
    nonisolated let requester: SyncRequesterDriver
    /// The store sync's timers and limits.
    public nonisolated let syncConfiguration: SyncConfiguration
    let metrics: MonitorMetrics
    nonisolated let logger: Logger
    /// Messages refused because the sender's authenticated key does not allow them.
    private nonisolated let unauthorized = Atomic<Int>(0)
    private nonisolated let unauthorizedLog = LockedState(LogThrottle())

    /// The protocol state machine this actor runs.
    private(set) var machine: MonitorMachine
    /// The machine's view of ``store``: it also holds the persists of an inbox run not yet written.
    private nonisolated let deferredWrites: DeferredWrites
    /// Set (and the doorbell rung) when chunks the sync provider waited for were read ahead.
    private nonisolated let chunksReady: LockedState<Bool>
    /// The actions of an inbox run's steps, executed together once the run ends (``drainInbox()``).
    private var deferredActions: [MonitorAction] = []
    /// Messages the dispatcher handed over, not yet fed to the machine.
    private nonisolated let inbox = LockedState<[InboxItem]>([])
    /// Rung when the inbox stops being empty; the drain task answers.
    private nonisolated let doorbell: AsyncStream<Void>.Continuation
    private let doorbellRings: AsyncStream<Void>
    private var drainTask: Task<Void, Never>?
    /// Past this many waiting messages the dispatcher drains the inbox itself (and so waits for the monitor).
    static let inboxLimit = 1024

    private struct InboxItem: Sendable {
        var message: any WireMessage
        var sender: TransportAddress
    }
    private var timerTasks = TimerTasks<MonitorTimer>()
    private var serviceWaiters: [UInt64: CheckedContinuation<Result<UInt64, ProposalError>, Never>] = [:]
    private var nextServiceProposalID: UInt64 = 0
    private var started = false
    private var stopped = false
    /// Told each newer monmap this monitor adopts.
    private var monmapObservers: [@Sendable (MonMap) -> Void] = []
    private var dispatchTask: Task<Void, Never>?
    private var syncTask: Task<Void, Never>?
    /// Interrupted syncs ``start()`` found and discarded (0 or 1).
    public private(set) var discardedInterruptedSyncs = 0
    /// How long a monitor whose sync failed waits before probing again (Ceph's probe timeout).
    static let syncRetryPause: Duration = .seconds(2)

    /// Creates a monitor; call ``start()`` to run it.
    ///
    /// - Parameters:
    ///   - monmap: the cluster's membership.
    ///   - name: this monitor's name in `monmap`.
    ///   - transport: a transport, not yet started, listening on this monitor's monmap address.
    ///   - store: the monitor's store (its Paxos log and service data persist there).
    ///   - configuration: timers and Paxos settings.
    ///   - syncConfiguration: the store sync's timers and limits.
    ///   - runsStoreSync: whether an oblivious monitor syncs its store itself (the default); without,
    ///     it stays out of the quorum and probes again now and then.
    ///   - timebase: the clock of every timer.
    ///   - extraServices: extra services to register beside Paxos and the key-value service.
    ///   - seed: the seed of the machine's election back-off; `nil` draws one at random.
    ///   - logger: the base logger.
    /// - Throws: ``MonitorError`` if the name is not in the map, the transport listens elsewhere,
    ///   a service cannot be registered, or the store cannot be read.
    public init(monmap: MonMap, name: String, transport: any MessageTransport, store: any MonitorStore,
                configuration: MonitorConfiguration = .default, syncConfiguration: SyncConfiguration = SyncConfiguration(),
                runsStoreSync: Bool = true, timebase: Timebase = .continuous,
                services extraServices: [any MonitorService] = [], seed: UInt64? = nil,
                logger: Logger = Logger(label: "monsync.monitor")) throws(MonitorError) {
        guard let me = monmap.member(named: name) else { throw .notInMonmap(name) }
        guard monmap.address(of: me.rank) == transport.localAddress else {
            throw .addressMismatch(name: name, monmap: me.address, transport: transport.localAddress.description)
        }
        let (doorbellRings, doorbell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (self.doorbellRings, self.doorbell) = (doorbellRings, doorbell)
        let chunksReady = LockedState(false)
        self.chunksReady = chunksReady
        let deferredWrites = DeferredWrites(base: store) {
            chunksReady.withLock { $0 = true }
            doorbell.yield()
        }
        self.deferredWrites = deferredWrites
        var machine = try MonitorMachine(monmap: monmap, rank: me.rank, store: deferredWrites, configuration: configuration,
                                         syncConfiguration: syncConfiguration, services: extraServices,
                                         seed: seed ?? UInt64.random(in: .min ... .max), now: timebase.now, logger: logger)
        machine.syncsItself = runsStoreSync
        self.machine = machine
        self.syncConfiguration = syncConfiguration
        self.name = name
        self.store = store
        self.configuration = configuration
        self.timebase = timebase
        self.services = machine.services
        self.metrics = MonitorMetrics(name: name)
        var logger = logger
        logger[metadataKey: "mon"] = "\(name)"
        self.logger = logger
        let dispatcher = Dispatcher(transport: transport, codec: .monitor(), logger: logger)
        self.dispatcher = dispatcher
        let peers = Set(monmap.ranks.filter { $0 != me.rank }.compactMap { monmap.address(of: $0) })
        let outbox = PeerOutbox(dispatcher: dispatcher, logger: logger, peers: peers)
        self.outbox = outbox
        var syncLogger = logger
        syncLogger[metadataKey: "role"] = "sync"
        requester = SyncRequesterDriver(store: store, outbox: outbox, timebase: timebase,
                                        progressLogInterval: syncConfiguration.progressLogInterval,
                                        metrics: SyncRequesterMetrics(name: name), logger: syncLogger)
    }

    /// Ceph's `get_sync_targets_names`: the prefixes a store sync copies, derived from the registered services.
    public nonisolated var syncTargetNames: [String] { services.syncTargetNames }

    /// This monitor's entity in ``monmap`` (`nil` once it was removed).
    public var entity: MonitorEntity? { machine.monmap.member(named: name) }

    // MARK: State (the machine's)

    /// The monitor's state.
    public var state: MonitorState { machine.state }
    /// The election epoch: odd while electing, even while a quorum is stable.
    public var electionEpoch: UInt32 { machine.electionEpoch }
    /// The quorum's ranks while in one.
    public var quorum: [Int32] { machine.quorum }
    /// The leader's rank while in a quorum.
    public var leader: Int32? { machine.leader }
    /// The last decision probing made.
    public var lastJoinDecision: JoinDecision? { machine.lastJoinDecision }
    /// Counters.
    public var statistics: MonitorStatistics { machine.statistics }
    /// Whether this monitor would answer a read from its own store now (the leader, under its lease).
    public var isReadable: Bool { machine.isReadable(at: timebase.now) }
    /// The Paxos state, for tests.
    var paxos: PaxosState { machine.paxos }

    // MARK: Life cycle

    /// Starts the transport, begins dispatching, and bootstraps (probes the peers).
    ///
    /// - Throws: ``MonitorError/transport(_:)`` if the transport cannot start, ``MonitorError/alreadyStarted``.
    public func start() async throws(MonitorError) {
        guard !started else { throw .alreadyStarted }
        started = true
        discardInterruptedSync()
        registerHandlers()
        do { try await dispatcher.transport.start() } catch {
            _ = machine.step(.stop, now: timebase.now)
            stopped = true
            throw .transport(error)
        }
        let dispatcher = dispatcher
        let rings = doorbellRings
        drainTask = Task { [weak self] in
            for await _ in rings {
                guard let self else { return }
                await self.drainInbox()
            }
        }
        dispatchTask = Task { await dispatcher.run() }
        logger.info("monitor starting", metadata: ["rank": "\(rank)", "epoch": "\(machine.electionEpoch)",
                                                   "fc": "\(machine.firstCommitted)", "lc": "\(machine.lastCommitted)"])
        feed(.start)
    }

    /// Stops the monitor: answers waiting clients, cancels every timer, shuts the transport down.
    /// Idempotent.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        feed(.stop)
        timerTasks.cancelAll()
        syncTask?.cancel()
        await syncTask?.value
        dispatcher.register { $0 = MessageRouter() }
        doorbell.finish()
        await drainTask?.value
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
    public var status: MonitorStatus { machine.status }

    /// ``status`` with the store sync's section (`MonitorStatus.sync`).
    public func statusWithSync() -> MonitorStatus {
        var current = status
        let sync = MonitorSyncStatus(requester: requester.progress, leader: machine.syncLeader, provider: machine.syncProvider)
        current.sync = sync.isEmpty ? nil : sync
        return current
    }

    /// ``statusWithSync()`` with the monitor's vitals (`MonitorStatus.vitals`: the store's disk
    /// usage, the sync's idle time): what a status command answers. The vitals are measured off the
    /// actor: reading the store's directory must not hold up the monitor's messages.
    public nonisolated func statusWithVitals() async -> MonitorStatus {
        var current = await statusWithSync()
        current.vitals = vitals
        return current
    }

    /// The store's disk usage and how long the running sync (as requester) has gone without advancing.
    public nonisolated var vitals: MonitorVitals { Self.vitals(store: store, requester: requester) }

    private static func vitals(store: any MonitorStore, requester: SyncRequesterDriver) -> MonitorVitals {
        let usage = store.usage()
        let idle = requester.idleTime ?? .zero
        let idleMilliseconds = idle.components.seconds * 1000 + idle.components.attoseconds / 1_000_000_000_000_000
        return MonitorVitals(storeBytes: usage?.storeBytes ?? 0, filesystemBytes: usage?.filesystemBytes ?? 0,
                             filesystemAvailableBytes: usage?.filesystemAvailableBytes ?? 0,
                             syncIdleMilliseconds: UInt64(clamping: max(0, idleMilliseconds)))
    }

    /// Every store sync this monitor ran as requester, in order, with its result.
    public nonisolated var syncResults: [Result<SyncOutcome, SyncFailure>] { requester.results }

    /// Requester messages (CHUNK, START_REPLY, …) that arrived while this monitor ran no sync: dropped, not kept.
    public nonisolated var syncMessagesDroppedWhileIdle: Int { requester.droppedWhileIdle }

    /// The current or last store sync's progress as requester (`nil` before the first).
    public nonisolated var syncProgress: SyncProgress? { requester.progress }

    /// The sync leader role's counters.
    public var syncLeaderStatistics: SyncLeaderMachine.Statistics { machine.syncLeader.statistics }

    /// The sync provider role's counters.
    public var syncProviderStatistics: SyncProviderMachine.Statistics { machine.syncProvider.statistics }

    /// The sync grants this monitor holds as leader, by requester.
    public var syncGrants: [TransportAddress: SyncLeaderMachine.Grant] { machine.syncLeader.grants }

    /// The provider sessions this monitor serves.
    public var syncProviderSessions: Int { machine.syncProvider.activeSessions }

    /// The first retained Paxos version.
    public var firstCommitted: UInt64 { machine.firstCommitted }
    /// The last committed Paxos version.
    public var lastCommitted: UInt64 { machine.lastCommitted }

    /// The digest of the sync targets, which must be equal on monitors at the same version.
    public func digest() throws(StoreError) -> StoreDigest { try store.digest(of: syncTargetNames) }

    // MARK: Trim holds

    /// Holds Paxos trimming off until the hold is released (or
    /// ``MonitorConfiguration/trimDisabledMaxVersions`` more versions are committed).
    public func holdTrim(reason: String) -> TrimHold { machine.holdTrim(reason: reason) }

    /// Releases a hold from ``holdTrim(reason:)``; a trim that became due is proposed at once.
    public func releaseTrim(_ hold: TrimHold) { feed(.releaseTrim(hold)) }

    /// The number of trim holds out.
    public var trimHoldCount: Int { machine.trimHoldCount }

    /// Whether the log is long enough that a trim is due (ignoring holds): Ceph's
    /// `should_trim`, which a leader consults before granting a sync.
    public var isTrimDue: Bool { machine.isTrimDue }

    /// Proposes `transaction` through Paxos and returns the version it was committed in.
    ///
    /// Only the leader proposes; every operation must touch a prefix a registered
    /// service owns (never the Paxos log). Changes queued together are committed
    /// in one version, as client writes are.
    ///
    /// - Throws: ``ProposalError``.
    public func propose(_ transaction: StoreTransaction) async throws(ProposalError) -> UInt64 {
        // A stopped machine takes no input, so nothing would ever answer.
        guard !stopped else { throw .notLeader(leader: nil) }
        nextServiceProposalID += 1
        let id = nextServiceProposalID
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<UInt64, ProposalError>, Never>) in
            serviceWaiters[id] = continuation
            feed(.propose(id: id, transaction))
        }
        return try result.get()
    }

    // MARK: The shell

    /// Runs `input` through the machine and executes its actions.
    /// Calls `observer` with each newer monmap this monitor adopts from now on (a membership change
    /// committed, or a newer map learned from a peer), after the step that adopted it.
    public func observeMonmap(_ observer: @escaping @Sendable (MonMap) -> Void) {
        monmapObservers.append(observer)
    }

    private func feed(_ input: MonitorInput, deferring: Bool = false) {
        let before = (machine.state, machine.statistics, machine.firstCommitted, machine.lastCommitted)
        let monmapEpoch = machine.monmap.epoch
        defer {
            if machine.monmap.epoch != monmapEpoch { for observer in monmapObservers { observer(machine.monmap) } }
        }
        let roles = (machine.syncLeader.statistics, machine.syncProvider.statistics,
                     machine.syncLeader.grants.count, machine.syncLeader.isHoldingTrim, machine.syncProvider.activeSessions)
        let quorum = (machine.electionEpoch, machine.quorum)
        let began = ContinuousClock.now
        var actions = machine.step(input, now: timebase.now)
        let stepped = ContinuousClock.now
        defer { noteStep(input, machine: began.duration(to: stepped), actions: stepped.duration(to: .now)) }
        if deferring {
            for case let .persist(transaction) in actions { deferredWrites.hold(transaction) }
            deferredActions.append(contentsOf: actions)
        } else {
            // A failed persist ends the list there; the machine is told, and its answer executed instead.
            while let failure = execute(actions) {
                actions = machine.step(.persistFailed(failure), now: timebase.now)
            }
        }
        if machine.state != before.0 || machine.electionEpoch != quorum.0 || machine.quorum != quorum.1 {
            metrics.record(state: machine.state, electionEpoch: machine.electionEpoch, quorum: machine.quorum)
        }
        metrics.record(from: before.1, to: machine.statistics)
        if machine.firstCommitted != before.2 || machine.lastCommitted != before.3 {
            metrics.record(firstCommitted: machine.firstCommitted, lastCommitted: machine.lastCommitted)
        }
        metrics.record(commitDurations: machine.takeCommitDurations())
        let leader = machine.syncLeader, provider = machine.syncProvider
        if leader.statistics != roles.0 || provider.statistics != roles.1 {
            metrics.record(leader: roles.0, leader.statistics, provider: roles.1, provider.statistics)
        }
        if leader.grants.count != roles.2 || leader.isHoldingTrim != roles.3 || provider.activeSessions != roles.4 {
            metrics.record(syncsRunning: leader.grants.count, trimHeld: leader.isHoldingTrim, providerSessions: provider.activeSessions)
        }
    }

    /// A step longer than this (the machine's decision and the actions it asked for: a synced
    /// write, the sends) is logged as a warning and counted: a monitor that takes this long
    /// answers nobody meanwhile (etcd warns of an apply that took over 100 ms likewise).
    static let slowStep: Duration = .milliseconds(100)

    /// Records a step's time in the step-duration histogram, and warns of a slow one.
    private func noteStep(_ what: @autoclosure () -> Any, machine: Duration, actions: Duration) {
        let total = machine + actions
        metrics.record(stepDuration: total, slow: total > Self.slowStep)
        guard total > Self.slowStep else { return }
        logger.warning("slow step: the monitor answered nothing else meanwhile", metadata: [
            "input": "\(String(describing: what()).prefix(160))", "machine": "\(machine)", "actions": "\(actions)",
        ])
    }

    /// Executes `actions` in order; returns the error of a persist that failed (nothing after it ran).
    ///
    /// The leader's BEGIN, COMMIT and LEASE (``MonitorAction/sendAhead(_:to:)``) leave first
    /// (``MonitorAction/inExecutionOrder(_:)``), so the peons write a version while the leader
    /// writes it too: a round costs one synced write on the critical path, not two in a row.
    /// Every persist of the list is written at the first one, as one atomic synced write
    /// (``mergedPersists(_:)``): the actions between them then run after a write that is already
    /// durable — later than the machine asked, never earlier — and a step that commits one
    /// Paxos version and begins the next costs one sync, not two. When that write fails,
    /// nothing after the first persist ran, as if it alone had failed.
    private func execute(_ actions: [MonitorAction]) -> StoreError? {
        for action in Self.mergedPersists(MonitorAction.inExecutionOrder(actions)).actions {
            switch action {
            case let .persist(transaction):
                do { try store.apply(transaction) } catch { return error }
            case let .send(message, destination), let .sendAhead(message, destination):
                if let reply = message as? MMonCommandReply { metrics.record(reply: reply) }
                outbox.send(message, to: destination)
            case let .arm(timer, deadline, generation):
                timerTasks.arm(timer, deadline: deadline, timebase: timebase) { [weak self] in
                    await self?.timerFired(timer, generation: generation)
                }
            case let .cancel(timer):
                timerTasks.cancel(timer)
            case let .finishProposal(id, result):
                serviceWaiters.removeValue(forKey: id)?.resume(returning: result)
            case let .answerStatus(reply, client):
                answerStatus(reply, to: client)
            case let .needsFullSync(requirement):
                startSync(requirement)
            case let .toSyncRequester(message, sender):
                requester.post(message, from: sender)
            }
        }
        return nil
    }

    /// `actions` with every persist folded into the first one (their operations in order: one
    /// write applies them as the separate writes would, one after the other), and how many
    /// persists the machine asked for.
    static func mergedPersists(_ actions: [MonitorAction]) -> (actions: [MonitorAction], persists: Int) {
        var first: Int?
        var merged = StoreTransaction()
        var persists = 0
        for (index, action) in actions.enumerated() {
            guard case let .persist(transaction) = action else { continue }
            persists += 1
            if first == nil { first = index }
            merged.append(transaction)
        }
        guard persists > 1, let first else { return (actions, persists) }
        var result: [MonitorAction] = []
        result.reserveCapacity(actions.count - persists + 1)
        for (index, action) in actions.enumerated() {
            if index == first {
                result.append(.persist(merged))
            } else if case .persist = action {
                continue
            } else {
                result.append(action)
            }
        }
        return (result, persists)
    }

    private func timerFired(_ timer: MonitorTimer, generation: UInt64) {
        feed(.timer(timer, generation: generation))
    }

    /// Sends a status reply with the sync's section and, measured off the actor, the vitals.
    private func answerStatus(_ reply: MMonCommandReply, to client: TransportAddress) {
        var reply = reply
        reply.status = statusWithSync()
        metrics.record(reply: reply)
        let (outbox, store, requester) = (outbox, store, requester)
        // Not owned, and need not be: a measurement and a send, and a send after ``stop()`` is
        // dropped by the closed outbox.
        Task.detached {
            reply.status.vitals = Self.vitals(store: store, requester: requester)
            outbox.send(reply, to: client)
        }
    }

    // MARK: Store sync (requester)

    /// Runs the requester's side of a store sync on a task this monitor owns, then rejoins.
    private func startSync(_ requirement: SyncRequirement) {
        guard syncTask == nil, !stopped else { return }
        // Never below what this monitor itself had: a provider older than that would take it back in time.
        let floor = max((try? store.lastCommittedFloor()) ?? 0, machine.lastCommitted)
        // A fresh session id per sync and per process: a restarted requester never reuses one.
        let machine = SyncRequesterMachine(
            configuration: syncConfiguration, targets: syncTargetNames, leader: requirement.leader,
            candidates: requirement.providers.map(\.entity), members: monmap.members.filter { $0.rank != rank }, session: UInt64.random(in: 1 ... .max),
            floor: floor, logger: logger)
        logger.notice("starting a full store sync", metadata: ["requirement": "\(requirement)"])
        syncTask = Task { [requester, timebase] in
            let result = await requester.run(machine)
            if case .failure = result {
                // Probe again after a pause, not at once: a cluster without a leader yet needs time to elect one.
                try? await timebase.sleep(for: Self.syncRetryPause)
            }
            self.syncEnded(result)  // back on the monitor: the task inherits its isolation; `run` ran off it
        }
    }

    private func syncEnded(_ result: Result<SyncOutcome, SyncFailure>) {
        syncTask = nil
        switch result {
        case let .success(outcome):
            logger.notice("store sync finished", metadata: ["version": "\(outcome.version)", "progress": "\(outcome.progress)"])
        case .failure(.cancelled) where stopped:
            // The node is stopping: not a failure worth an error line.
            logger.notice("store sync stopped with the monitor; live data unchanged")
        case let .failure(failure):
            logger.error("store sync failed; live data unchanged, probing again", metadata: ["error": "\(failure)"])
        }
        guard !stopped else { return }
        feed(.syncFinished)
    }

    /// A durable in-sync marker left by a sync that never finished (the process died mid-copy)
    /// is cleared, with its partial staging area: live data was never touched, so the monitor
    /// simply probes, finds itself oblivious again, and syncs from scratch.
    private func discardInterruptedSync() {
        do {
            guard let marker = try store.syncMarker() else { return }
            logger.warning("a sync was interrupted before its swap; discarding its partial copy",
                           metadata: ["targets": "\(marker.targets)"])
            try store.abandonStaging()
            discardedInterruptedSyncs += 1
        } catch {
            logger.error("cannot check or clear the in-sync marker", metadata: ["error": "\(error)"])
        }
    }

    /// Hands a message to the monitor in arrival order without waiting for it (unless the inbox is
    /// full: then the caller drains it, which bounds what waits).
    private nonisolated func enqueue(_ message: any WireMessage, from sender: TransportAddress) async {
        let count = inbox.withLock { inbox in
            inbox.append(InboxItem(message: message, sender: sender))
            return inbox.count
        }
        if count >= Self.inboxLimit {
            await drainInbox()
        } else if count == 1 {
            doorbell.yield()
        }
    }

    /// Feeds the waiting messages to the machine, in order, as runs whose persists are written once.
    ///
    /// Paxos messages and client writes are stepped one after the other with their actions held
    /// back (``DeferredWrites`` lets each step read what the earlier ones decided); at the end of
    /// the run every held action is executed, its persists as one synced write at the first
    /// (``execute(_:)``). So a peon that finds COMMIT v and BEGIN v+1 waiting syncs once, and a
    /// leader that finds an ACCEPT and new writes commits, begins the next version and answers in
    /// one sync. Sends and the rest only ever run later than when they were decided, never before
    /// the writes that preceded them — except the leader's sends ahead, which need none of them
    /// (``MonitorAction/inExecutionOrder(_:)``). Any other message (a read, a LIST, an election, a sync
    /// message) first ends the run: it is handled as if alone, on a store that holds everything.
    private func drainInbox() {
        while true {
            let items = inbox.withLock { inbox -> [InboxItem] in
                defer { inbox.removeAll(keepingCapacity: true) }
                return inbox
            }
            let chunks = chunksReady.withLock { ready in
                defer { ready = false }
                return ready
            }
            guard !items.isEmpty || chunks else { return }
            for item in items {
                if Self.mayDefer(item.message) {
                    feed(.message(item.message, from: item.sender), deferring: true)
                } else {
                    flushDeferred()
                    feed(.message(item.message, from: item.sender))
                }
            }
            flushDeferred()
            // After the messages that waited with it: Paxos goes first, the provider's chunks after.
            if chunks { feed(.syncChunksReady) }
        }
    }

    /// Whether a message's step may be held back in a run: Paxos messages and client writes, which
    /// read the store only by key (nothing of theirs takes a snapshot or answers a read).
    private static func mayDefer(_ message: any WireMessage) -> Bool {
        if message is MMonPaxos { return true }
        if let command = message as? MMonCommand { return command.op.isWrite }
        return false
    }

    /// Executes the actions held back by a run (its persists as one write), then forgets the run.
    private func flushDeferred() {
        guard !deferredActions.isEmpty else { return }
        let actions = deferredActions
        deferredActions.removeAll(keepingCapacity: true)
        let began = ContinuousClock.now
        var failure = execute(actions)
        noteStep("the held-back actions of a run of steps (\(actions.count))", machine: .zero, actions: began.duration(to: .now))
        // Written, or failed and never applied: either way the overlay must not be read again.
        deferredWrites.clear()
        while let error = failure {
            failure = execute(machine.step(.persistFailed(error), now: timebase.now))
        }
    }

    /// Messages refused because the sender's authenticated key does not allow them (a client's key
    /// sending Paxos or sync messages, a read key writing); always 0 on a transport that
    /// authenticates nobody.
    public nonisolated var unauthorizedMessages: Int { unauthorized.load(ordering: .relaxed) }

    /// The role a message needs from its authenticated sender: monitors alone take part in
    /// elections, Paxos and store sync, and forward commands; writes need a write key; reads a read
    /// key; a backup stream (START_CHUNKS with BACKUP, then its CHUNK_REPLYs and ABORT) a backup key.
    ///
    /// A backup key's CHUNK_REPLY or ABORT can touch only sessions of its own address (provider
    /// sessions are keyed by the sender's address, which the transport binds to the key), and a
    /// requester drops what does not come from a member, so admitting them to backup keys lends
    /// those keys nothing of a monitor's.
    nonisolated static func requiredRole(for message: any WireMessage) -> PeerIdentity.Role {
        if let sync = message as? MMonSync {
            switch sync.op {
            case .startChunks where sync.flags.contains(.backup): return .backup
            case .chunkReply, .abort: return .backup
            default: return .monitor
            }
        }
        guard let command = message as? MMonCommand else { return .monitor }
        if command.flags.contains(.forwarded) { return .monitor }
        // Changing who decides is more than writing data: a monitor's key (the operator's admin key).
        if command.op.isMembershipChange { return .monitor }
        return command.op.isWrite ? .write : .read
    }

    /// Whether `peer` may send `message`; a transport that authenticates nobody (`peer` nil) is
    /// trusted as configured. A refusal is counted, logged once per key per interval, and answered
    /// where the sender waits for an answer: a client command with INVALID, a backup's START_CHUNKS
    /// with ABORT (`permission_denied`), both saying why. (Only an authenticated sender is ever
    /// answered here: its address is bound to its key, so the answer cannot be aimed elsewhere.)
    nonisolated func admits(_ message: any WireMessage, from peer: PeerIdentity?, at sender: TransportAddress) -> Bool {
        let required = Self.requiredRole(for: message)
        guard let peer, !peer.role.allows(required) else { return true }
        unauthorized.add(1, ordering: .relaxed)
        metrics.recordUnauthorized()
        unauthorizedLog.withLock {
            $0.log(logger, .warning, "refused a message the sender's key does not allow", key: peer.credential, now: MonotonicUptime.now,
                   metadata: ["sender": "\(sender)", "key": "\(peer)", "needs": "\(required)", "message": "\(type(of: message).name)"])
        }
        if let command = message as? MMonCommand {
            let reply = MMonCommandReply(op: command.op, tid: command.tid, result: .invalid,
                                         message: "permission denied: the key of \(peer.name) has role \(peer.role); \(command.op) needs \(required)")
            metrics.record(reply: reply)
            outbox.send(reply, to: sender)
        } else if let sync = message as? MMonSync, sync.op == .startChunks, sync.flags.contains(.backup) {
            outbox.send(MMonSync(op: .abort, session: sync.session, reason: .permissionDenied), to: sender)
        }
        return false
    }

    private func registerHandlers() {
        dispatcher.register { router in
            router.register(MMonProbe.self) { [weak self] message, context in
                guard let self, self.admits(message, from: context.peer, at: context.sender) else { return }
                await self.enqueue(message, from: context.sender)
            }
            router.register(MMonElection.self) { [weak self] message, context in
                guard let self, self.admits(message, from: context.peer, at: context.sender) else { return }
                await self.enqueue(message, from: context.sender)
            }
            router.register(MMonPaxos.self) { [weak self] message, context in
                guard let self, self.admits(message, from: context.peer, at: context.sender) else { return }
                await self.enqueue(message, from: context.sender)
            }
            router.register(MMonCommand.self) { [weak self] message, context in
                guard let self, self.admits(message, from: context.peer, at: context.sender) else { return }
                await self.enqueue(message, from: context.sender)
            }
            // The requester's ops go straight to its driver (chunks never queue behind the
            // monitor's own work); the leader's and the provider's go through the machine.
            let requester = requester
            router.register(MMonSync.self) { [weak self] message, context in
                guard let self, self.admits(message, from: context.peer, at: context.sender) else { return }
                if message.op.isForRequester {
                    requester.post(message, from: context.sender)
                } else {
                    await self.enqueue(message, from: context.sender)
                }
            }
        }
    }
}
