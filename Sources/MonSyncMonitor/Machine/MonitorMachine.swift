public import Logging
import MonSyncCore
public import MonSyncMessages
public import MonSyncStore
public import MonSyncStoreSync

/// One monitor's protocol — probe, election, Single-Paxos (recovery, begin/accept/commit,
/// leases, trim) and the client command path — as a synchronous state machine.
///
/// An input goes in (``MonitorInput``: a decoded message, a timer firing, a client request,
/// a store failure) with the monitor's current time; an ordered list of ``MonitorAction``s
/// comes out (persist, send, arm a timer, answer). The machine does no I/O, reads no clock
/// and draws randomness only from its seeded generator, so the same inputs give the same
/// actions: ``Monitor`` runs it over a transport and a real store, and the simulator
/// (`MonSyncSimulation`) runs hundreds of thousands of seeded histories through it.
///
/// It reads the store (the committed log, the key-value data, applied tids) through a
/// read-only view that also sees the writes of the current step.
///
/// ```swift
/// var machine = try MonitorMachine(monmap: monmap, rank: 0, store: store, now: clock.now)
/// for action in machine.step(.start, now: clock.now) { execute(action) }
/// ```
public struct MonitorMachine: Sendable {
    /// The cluster's membership: the newest map this monitor knows (see <doc:ChangingMembership>).
    public internal(set) var monmap: MonMap
    /// This monitor's rank in ``monmap`` (its last rank once it was removed).
    public internal(set) var rank: Int32
    /// This monitor's name, which identifies it across monmap epochs (ranks change when a member is removed).
    public let name: String
    /// Timers, lease and Paxos settings.
    public let configuration: MonitorConfiguration
    /// The registered services.
    public let services: ServiceRegistry
    /// The key-value service, writing applied-tid records in the form the cluster's
    /// ``requiredFeatures`` allow, reading the forms this build's `supportedFeatures` know.
    public var keyValue: KeyValueService {
        KeyValueService(readsRuns: supportedFeatures.contains(.appliedTidRuns),
                        writesRuns: requiredFeatures.contains(.appliedTidRuns) || mutations.contains(.runsBeforeRequired))
    }
    /// The monmap service: membership changes committed through Paxos.
    public let monmapService = MonmapService()
    /// The store sync's timers and limits.
    public let syncConfiguration: SyncConfiguration

    let store: StepStore
    let trimPolicy: TrimPolicy
    var log: PaxosLog { PaxosLog(store: store) }
    var logger: Logger
    var random: SeededRandomNumberGenerator

    // MARK: State

    /// The monitor's state.
    public internal(set) var state: MonitorState = .probing
    /// The election epoch: odd while electing, even while a quorum is stable.
    public internal(set) var electionEpoch: UInt32 = 0
    /// The quorum's ranks while in one.
    public internal(set) var quorum: [Int32] = []
    /// The leader's rank while in a quorum.
    public internal(set) var leader: Int32?
    /// The last decision probing made.
    public internal(set) var lastJoinDecision: JoinDecision?
    /// Counters.
    public internal(set) var statistics = MonitorStatistics()
    /// The features this monitor's build supports, announced in its election messages: everything
    /// this build implements. Tests and the simulator lower them to play an older build in a
    /// rolling upgrade (it then also reads only what that build could).
    @_spi(Testing) public var supportedFeatures: MonitorFeatures = .supported
    /// The features the cluster requires of every monitor in an election: committed through Paxos
    /// (`monmap/features`) once the whole monmap supported them, never dropped (`MonitorFeatures`).
    public internal(set) var requiredFeatures: MonitorFeatures = []
    /// Leader: the features every member of its quorum supports.
    public internal(set) var quorumFeatures: MonitorFeatures = []
    /// Latencies of rounds committed as leader, BEGIN to commit, not yet taken by the shell.
    var commitDurations: [Duration] = []
    /// The most latencies kept between two ``takeCommitDurations()``.
    static let commitDurationsKept = 64
    /// Faults re-introduced on purpose, so the simulator's checkers can be shown to catch them.
    /// Never set outside tests.
    @_spi(Testing) public var mutations: Mutations = []
    /// Whether the leader keeps a ``CommitRecord`` of every version it commits (the simulator's
    /// membership checker reads them with ``takeCommitRecords()``). Off outside tests: it changes
    /// nothing the machine decides or sends.
    @_spi(Testing) public var recordsCommits = false
    /// The leader's commits since the last ``takeCommitRecords()`` (only when ``recordsCommits``).
    var commitRecords: [CommitRecord] = []
    /// Whether a store sync takes over when probing finds this monitor oblivious
    /// (``MonitorAction/needsFullSync(_:)``, answered by ``MonitorInput/syncFinished``);
    /// without one the monitor stays out of the quorum and probes again now and then.
    public var syncsItself = false

    /// Doublings of the election timeout since this monitor was last in a working quorum.
    var electionBackoff = 0
    var probe = ProbeState()
    var elector = ElectorState()
    var paxos = PaxosState()
    var lease = LeaseState()
    var timers: [MonitorTimer: UInt64] = [:]
    var nextTimerGeneration: UInt64 = 0
    var trimHolds = TrimHolds()
    var pendingWrites: [PendingWrite] = []
    var pendingServiceProposals: [ServiceProposal] = []
    /// The membership change waiting for the next proposal (one at a time).
    var pendingMembershipChange: PendingWrite?
    /// A monmap committed during this step, adopted at its end (after the step's COMMITs and replies
    /// went out under the map they were decided with).
    var monmapToAdopt: MonMap?
    /// The store sync's leader role: grants, and the versions they need kept.
    public internal(set) var syncLeader: SyncLeaderMachine
    /// The store sync's provider role: the sessions this monitor serves.
    public internal(set) var syncProvider: SyncProviderMachine
    /// The deadlines the two sync timers are armed for.
    var syncTimerDeadlines: [MonitorTimer: Duration] = [:]

    /// The time of the step being handled (the monitor's own clock).
    var now: Duration = .zero
    /// The actions of the step being handled.
    var actions: [MonitorAction] = []
    /// Messages refused for their sender are counted in ``statistics``, logged once per sender per interval.
    var refusalLog = LogThrottle()

    static let electionEpochKey = "election_epoch"

    /// A machine for the monitor of `rank`, with the persistent state `store` holds.
    ///
    /// - Parameters:
    ///   - monmap: the cluster's membership as configured; a newer map the store holds (committed
    ///     through Paxos, or learned from a peer) takes its place.
    ///   - rank: this monitor's rank in `monmap`.
    ///   - store: the monitor's store; the machine reads it, and persists only through actions.
    ///   - configuration: timers and Paxos settings.
    ///   - syncConfiguration: the store sync's timers and limits, for the leader and provider roles.
    ///   - extraServices: services to register beside Paxos and the key-value service.
    ///   - seed: the generator of the election back-off; give each monitor its own.
    ///   - now: the monitor's clock at creation.
    ///   - logger: the base logger.
    /// - Throws: ``MonitorError`` if `rank` is not in the map, a service cannot be registered,
    ///   or the store cannot be read.
    public init(monmap: MonMap, rank: Int32, store: any MonitorStore,
                configuration: MonitorConfiguration = .default, syncConfiguration: SyncConfiguration = SyncConfiguration(),
                services extraServices: [any MonitorService] = [],
                seed: UInt64 = 0, now: Duration, logger: Logger = Logger(label: "monsync.monitor")) throws(MonitorError) {
        guard let me = monmap.member(rank: rank) else { throw .notInMonmap("rank \(rank)") }
        var registry = ServiceRegistry.standard
        do {
            for service in extraServices { try registry.register(service) }
        } catch { throw .service(error) }
        self.name = me.name
        do {
            let newest = try MonmapService().newest(configured: monmap, in: store)
            self.monmap = newest
            self.rank = newest.member(named: me.name)?.rank ?? rank
            if newest.member(named: me.name) == nil { state = .removed }
        } catch { throw .store(error) }
        self.configuration = configuration
        self.syncConfiguration = syncConfiguration
        self.services = registry
        self.store = StepStore(base: store)
        self.trimPolicy = TrimPolicy(configuration)
        var logger = logger
        logger[metadataKey: "mon"] = "\(me.name)"
        self.logger = logger
        syncLeader = SyncLeaderMachine(configuration: syncConfiguration, logger: logger)
        syncProvider = SyncProviderMachine(store: store, configuration: syncConfiguration, logger: logger)
        self.random = SeededRandomNumberGenerator(seed: seed ^ (0x6D6F_6E00 &+ UInt64(UInt32(bitPattern: rank))))
        self.now = now
        do {
            // Clamped as received epochs are (MMonElection refuses the last few values), so `+ 1` never overflows.
            let stored = try store.getUInt64(ServiceRegistry.bookkeepingPrefix, Self.electionEpochKey) ?? 0
            electionEpoch = UInt32(min(stored, UInt64(UInt32.max - 4)))
            paxos = try PaxosState.load(from: store)
            requiredFeatures = try monmapService.requiredFeatures(in: store)
        } catch { throw .store(error) }
    }

    /// Faults the simulator's mutation checks re-introduce (``mutations``).
    @_spi(Testing) public struct Mutations: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The leader serves reads without a lease and a new leader does not wait out the old one's
        /// (the defect of a leader cut off from its quorum that goes on answering reads).
        public static let readsWithoutLease = Mutations(rawValue: 1 << 0)
        /// Peons answer reads while a lease from the leader runs, as Ceph's do, with commits by a
        /// majority (the defect of a peon that missed a BEGIN answering with the overwritten value).
        public static let peonReadsUnderLease = Mutations(rawValue: 1 << 2)
        /// The leader commits once any one peon accepted, not a majority.
        public static let commitOnFirstAccept = Mutations(rawValue: 1 << 1)
        /// The leader counts a membership change's own commit with the majority of the map it
        /// proposes instead of the map in force (the defect of deciding a change under the new
        /// configuration: removing one of 2 or of 4 members commits with too few of the old ones).
        public static let changeCommitsUnderNewMap = Mutations(rawValue: 1 << 3)
        /// The leader writes applied-tid records as runs before the cluster requires
        /// `MonitorFeatures.appliedTidRuns` (the defect of an on-disk format change without a
        /// feature gate: an older build, still a member, reads them as corrupt).
        public static let runsBeforeRequired = Mutations(rawValue: 1 << 4)
        /// A peon sends ACCEPT ahead of the persist of what it accepts (the defect of a vote that a
        /// crash can take back: the leader commits with it, the peon restarts without the value).
        public static let acceptAhead = Mutations(rawValue: 1 << 5)
        /// The shell sends every ``MonitorAction/sendAhead(_:to:)`` first, even past an ordered
        /// send to the same peer (the defect of a BEGIN that overtakes the COMMITs a recovering
        /// leader shares first: the peon, behind, cannot accept it).
        public static let aheadPastLinkOrder = Mutations(rawValue: 1 << 6)
    }

    /// Observation only: a version the leader committed, with the monitors whose accepts it counted.
    @_spi(Testing) public struct CommitRecord: Sendable, Hashable {
        /// The version committed.
        public var version: UInt64
        /// The value committed.
        public var value: [UInt8]
        /// The names of the monitors that had accepted it (the leader included), in the leader's map.
        public var acceptedBy: [String]
        /// The epoch of the monmap the leader decided it under.
        public var monmapEpoch: UInt32
        /// The leader's election epoch.
        public var electionEpoch: UInt32
    }

    /// The bookkeeping key of the value a monitor accepted and has not committed: the simulator tells
    /// a leader's durable acceptance (that persist executed) from one a crash cut short.
    @_spi(Testing) public static var pendingValueKey: String { PaxosState.pendingValueKey }

    /// The leader's commits recorded since the last call (see ``recordsCommits``).
    @_spi(Testing) public mutating func takeCommitRecords() -> [CommitRecord] {
        defer { commitRecords.removeAll() }
        return commitRecords
    }

    // MARK: Stepping

    /// Handles `input` at the monitor's time `now` and returns what the shell must do, in order.
    public mutating func step(_ input: MonitorInput, now: Duration) -> [MonitorAction] {
        self.now = max(self.now, now)
        actions = []
        defer { store.endStep() }
        guard state != .shutdown else { return [] }
        if state == .removed { return stepWhileRemoved(input) }
        switch input {
        case .start:
            bootstrap(reason: "start")
        case let .message(message, sender):
            receive(message, from: sender)
        case let .timer(timer, generation):
            guard timers[timer] == generation else { break }
            timers[timer] = nil
            timerFired(timer)
        case let .persistFailed(error):
            noteStoreFailure(error, during: "persisting")
            reloadPersistentState()
            bootstrap(reason: "store failure")
        case .syncFinished:
            reloadPersistentState()
            // The copy carries the monmap the provider had committed: follow it if it is newer.
            if !adoptStoredMonmap() { bootstrap(reason: "sync finished") }
        case .syncChunksReady:
            syncChunksReady()
        case let .releaseTrim(hold):
            if trimHolds.release(hold) {
                logger.info("trim released", metadata: ["hold": "\(hold)"])
                proposeNextIfIdle()
            }
        case let .propose(id, transaction):
            queueServiceProposal(id: id, transaction)
        case .stop:
            leaveQuorum(reason: "monitor shutting down")
            syncProvider.reset()
            cancelAllTimers()
            state = .shutdown
        }
        if let map = monmapToAdopt {
            monmapToAdopt = nil
            adopt(map, reason: "committed through Paxos")
        }
        if state != .shutdown && state != .removed { rearmSyncTimers() }
        let result = actions
        actions = []
        return result
    }

    private mutating func receive(_ message: any WireMessage, from sender: TransportAddress) {
        switch message {
        case let probe as MMonProbe: handleProbe(probe, from: sender)
        case let election as MMonElection: handleElection(election, from: sender)
        case let paxos as MMonPaxos: handlePaxos(paxos, from: sender)
        case let command as MMonCommand: handleCommand(command, from: sender)
        case let sync as MMonSync: handleSync(sync, from: sender)
        default: noteStale("\(type(of: message)) is not a monitor message")
        }
    }

    private mutating func timerFired(_ timer: MonitorTimer) {
        switch timer {
        case .probe: bootstrap(reason: "probe timeout")
        case .election: electionTimedOut()
        case .paxosRound: bootstrap(reason: "Paxos round timed out (\(paxos.phase))")
        case .leaseRenew: extendLease()
        case .leaseAck:
            statistics.leaseExpiries += 1
            bootstrap(reason: "lease acks missing from \(Set(quorum).subtracting(lease.acked).sorted())")
        case .leaseTimeout:
            statistics.leaseExpiries += 1
            bootstrap(reason: "lease from the leader expired")
        case .propose: proposeNextIfIdle()
        case .syncRetry: bootstrap(reason: "re-probing while oblivious")
        case .syncLeader, .syncProvider: syncTimerFired(timer)
        }
    }

    private mutating func reloadPersistentState() {
        do {
            let stored = try store.base.getUInt64(ServiceRegistry.bookkeepingPrefix, Self.electionEpochKey) ?? 0
            electionEpoch = max(electionEpoch, UInt32(min(stored, UInt64(UInt32.max - 4))))
            paxos = try PaxosState.load(from: store.base)
            // A sync's copy carries the provider's required features; they are never dropped.
            requiredFeatures.formUnion(try monmapService.requiredFeatures(in: store.base))
        } catch {
            noteStoreFailure(error, during: "reloading the Paxos state")
        }
    }

    // MARK: Queries

    /// The monitor's state, rank, quorum, leader and Paxos bounds.
    public var status: MonitorStatus {
        MonitorStatus(state: state, rank: rank, name: name, electionEpoch: electionEpoch,
                      quorum: state.isInQuorum ? quorum : [], leader: state.isInQuorum ? leader : nil,
                      firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted)
    }

    /// The first retained Paxos version.
    public var firstCommitted: UInt64 { paxos.firstCommitted }
    /// The last committed Paxos version.
    public var lastCommitted: UInt64 { paxos.lastCommitted }
    /// The Paxos phase, for logs and tests.
    public var phaseDescription: String { paxos.phase.description }

    /// Whether the log is long enough that a trim is due (ignoring holds): Ceph's `should_trim`.
    public var isTrimDue: Bool {
        trimPolicy.isDue(firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted)
    }

    /// The number of trim holds out.
    public var trimHoldCount: Int { trimHolds.holds.count }

    /// Takes a hold on trimming (a sync needs old versions); give it back with ``MonitorInput/releaseTrim(_:)``.
    public mutating func holdTrim(reason: String) -> TrimHold {
        let hold = trimHolds.take(reason: reason, lastCommitted: paxos.lastCommitted)
        logger.info("trim held", metadata: ["hold": "\(hold)", "since": "\(paxos.lastCommitted)"])
        return hold
    }

    // MARK: Plumbing

    mutating func send(_ message: any WireMessage, toRank peer: Int32) {
        guard peer != rank, let address = monmap.address(of: peer) else { return }
        actions.append(.send(message, to: address))
    }

    mutating func send(_ message: any WireMessage, to address: TransportAddress) {
        actions.append(.send(message, to: address))
    }

    /// Sends `message` to `peer`, possibly ahead of this step's persists (see ``MonitorAction/sendAhead(_:to:)``).
    mutating func sendAhead(_ message: any WireMessage, toRank peer: Int32) {
        guard peer != rank, let address = monmap.address(of: peer) else { return }
        actions.append(.sendAhead(message, to: address))
    }

    /// Records `transaction` for the shell to persist before the actions that follow, and lets
    /// the rest of the step read it.
    mutating func persist(_ transaction: StoreTransaction) {
        store.stage(pending: transaction)
        actions.append(.persist(transaction))
    }

    /// Arms `timer` to fire `delay` from now.
    mutating func arm(_ timer: MonitorTimer, after delay: Duration) {
        arm(timer, at: now + delay)
    }

    mutating func arm(_ timer: MonitorTimer, at deadline: Duration) {
        nextTimerGeneration += 1
        timers[timer] = nextTimerGeneration
        actions.append(.arm(timer, at: deadline, generation: nextTimerGeneration))
    }

    /// `base` stretched by a random 0–50 %: monitors that time out together do not retry
    /// together (Raft's randomised election timeout), so elections cannot livelock.
    mutating func jittered(_ base: Duration) -> Duration {
        base + base * Double.random(in: 0..<0.5, using: &random)
    }

    func isArmed(_ timer: MonitorTimer) -> Bool { timers[timer] != nil }

    mutating func cancel(_ timer: MonitorTimer) {
        guard timers.removeValue(forKey: timer) != nil else { return }
        actions.append(.cancel(timer))
    }

    mutating func cancelAllTimers() {
        for timer in timers.keys.sorted(by: { "\($0)" < "\($1)" }) { actions.append(.cancel(timer)) }
        timers.removeAll()
    }

    /// The rank of the monitor that sent from `sender`, if it is the member it claims to be.
    mutating func verifiedSender(_ sender: TransportAddress, claims claimed: Int32) -> Int32? {
        if let actual = monmap.rank(of: sender), actual != claimed {
            // A member under the rank an older (or newer) monmap gave it: ranks close up when a
            // member is removed, and messages sent before a change arrive after it. Stale, not forged.
            noteStale("a message from mon.\(monmap.member(rank: actual)?.name ?? "?") claiming rank \(claimed) (its rank is \(actual) in monmap e\(monmap.epoch))")
            return nil
        }
        guard monmap.rank(of: sender) == claimed else {
            statistics.impostorMessages += 1
            refusalLog.log(logger, .warning, "message from an address that is not the claimed monitor", key: "\(sender)", now: now,
                           metadata: ["sender": "\(sender)", "claimed": "\(claimed)"])
            return nil
        }
        return claimed
    }

    mutating func noteStale(_ what: String) {
        statistics.staleMessages += 1
        logger.debug("ignoring stale message", metadata: ["what": "\(what)", "state": "\(state)"])
    }

    mutating func noteStoreFailure(_ error: StoreError, during what: String) {
        statistics.storeFailures += 1
        logger.error("store failure", metadata: ["during": "\(what)", "error": "\(error)"])
    }

    /// Persists the election epoch (so a restarted monitor does not reuse an old one).
    mutating func setElectionEpoch(_ epoch: UInt32) {
        electionEpoch = epoch
        var transaction = StoreTransaction()
        transaction.put(ServiceRegistry.bookkeepingPrefix, Self.electionEpochKey, uint64: UInt64(epoch))
        persist(transaction)
    }
}
