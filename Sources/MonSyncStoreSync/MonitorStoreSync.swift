public import Logging
public import MonSyncCore
public import MonSyncMonitor
import MonSyncStore

/// Plugs the three sync roles into a ``Monitor``: its handlers, its trim hold, and its join decision.
///
/// ```swift
/// let monitor = try Monitor(monmap: monmap, name: "c", transport: transport, store: store)
/// let sync = MonitorStoreSync(monitor: monitor)
/// await sync.install()          // routes MMonSync, becomes the monitor's sync delegate
/// try await monitor.start()
/// ```
///
/// - As **leader**, the monitor grants syncs and holds Paxos trim through
///   ``Monitor/holdTrim(reason:)``; when Paxos must trim past the hold anyway,
///   the running syncs are aborted explicitly first.
/// - As a **provider** (any monitor not syncing itself that holds a committed store, in the
///   quorum or not: see `canServeSync`), it provides snapshots of the monitor's sync targets
///   (``Monitor/syncTargetNames``, derived from its services).
/// - For `status`, it reports the three roles' progress and counters (``syncStatus``).
/// - When probing finds it **oblivious**, it runs the requester's whole
///   protocol, then tells the monitor (``Monitor/syncFinished()``), which
///   reloads its Paxos state and rejoins through an election and Paxos recovery.
///   A failed sync leaves live data untouched; the monitor probes again and
///   decides afresh.
public final class MonitorStoreSync: StoreSyncDelegate, Sendable {
    public let monitor: Monitor
    public let leader: SyncLeader
    public let provider: SyncProvider
    public let requester: SyncRequester
    private let configuration: SyncConfiguration
    private let logger: Logger
    private let environment: Environment
    private let outcomes: LockedState<[Result<SyncOutcome, SyncFailure>]>
    private let interruptedSyncs = LockedState(0)
    private let timebase: Timebase
    /// How long a monitor whose sync failed waits before probing again (Ceph's probe timeout).
    static let retryPause: Duration = .seconds(2)

    /// How many interrupted syncs ``install()`` found and discarded (0 or 1).
    public var discardedInterruptedSyncs: Int { interruptedSyncs.withLock { $0 } }

    /// Creates the roles for `monitor`, with `timebase` driving every sync timer.
    public init(monitor: Monitor, configuration: SyncConfiguration = SyncConfiguration(), timebase: Timebase = .continuous,
                seed: UInt64 = 0, logger: Logger = Logger(label: "monsync.sync")) {
        var logger = logger
        logger[metadataKey: "mon"] = "\(monitor.name)"
        self.monitor = monitor
        self.configuration = configuration
        self.timebase = timebase
        self.logger = logger
        let environment = Environment(monitor: monitor)
        self.environment = environment
        leader = SyncLeader(environment: environment, trim: environment, configuration: configuration, timebase: timebase,
                            seed: seed, logger: logger)
        provider = SyncProvider(store: monitor.store, environment: environment, configuration: configuration,
                                timebase: timebase, logger: logger)
        requester = SyncRequester(store: monitor.store, configuration: configuration, timebase: timebase,
                                  seed: seed &+ 1, logger: logger)
        outcomes = LockedState([])
    }

    /// Registers the MMonSync routes on the monitor's dispatcher and becomes its sync delegate.
    /// Call before ``Monitor/start()``.
    ///
    /// A durable in-sync marker left by a sync that never finished (the process died mid-copy)
    /// is cleared here, with its partial staging area: live data was never touched, so the
    /// monitor simply probes, finds itself oblivious again, and syncs from scratch.
    public func install() async {
        do {
            if let marker = try monitor.store.syncMarker() {
                logger.warning("a sync was interrupted before its swap; discarding its partial copy",
                               metadata: ["targets": "\(marker.targets)"])
                try monitor.store.abandonStaging()
                interruptedSyncs.withLock { $0 += 1 }
            }
        } catch {
            logger.error("cannot check or clear the in-sync marker", metadata: ["error": "\(error)"])
        }
        monitor.dispatcher.register { router in
            SyncRoutes.register(leader: leader, provider: provider, requester: requester, on: &router)
        }
        await monitor.setSyncDelegate(self)
    }

    /// Every sync this monitor ran as requester, in order, with its result.
    public var results: [Result<SyncOutcome, SyncFailure>] { outcomes.withLock { $0 } }

    // MARK: StoreSyncDelegate

    public func monitor(_ monitor: Monitor, needsFullSync requirement: SyncRequirement) async {
        // A monitor that copies a store serves none meanwhile.
        await provider.reset()
        environment.setKnownLeader(requirement.leader)
        logger.notice("starting a full store sync", metadata: ["requirement": "\(requirement)"])
        let result: Result<SyncOutcome, SyncFailure>
        do {
            result = .success(try await requester.synchronize(targets: monitor.syncTargetNames, environment: environment,
                                                              dispatcher: monitor.dispatcher))
        } catch {
            result = .failure(error)
        }
        outcomes.withLock { $0.append(result) }
        switch result {
        case let .success(outcome):
            logger.notice("store sync finished", metadata: ["version": "\(outcome.version)", "progress": "\(outcome.progress)"])
        case let .failure(failure):
            logger.error("store sync failed; live data unchanged, probing again", metadata: ["error": "\(failure)"])
            // Probe again after a pause, not at once: a cluster without a leader yet needs time to elect one.
            try? await timebase.sleep(for: Self.retryPause)
        }
        await monitor.syncFinished()
    }

    public func monitor(_ monitor: Monitor, trimsPastHoldsTo firstCommitted: UInt64, holds: [TrimHold]) async {
        await leader.trimMustResume(dispatcher: monitor.dispatcher)
    }

    public func syncStatus(of monitor: Monitor) async -> MonitorSyncStatus? {
        let status = await syncStatus
        return status.isEmpty ? nil : status
    }

    /// The three roles' part of `status`: the requester's current or last sync (none before the
    /// first), the leader's and the provider's counters.
    public var syncStatus: MonitorSyncStatus {
        get async {
            let progress = requester.progress
            let leaderStatistics = await leader.statistics
            let running = await leader.activeSyncs.count
            let held = await leader.isHoldingTrim
            let providerStatistics = await provider.statistics
            let sessions = await provider.activeSessions
            return MonitorSyncStatus(
                requester: progress.phase == .idle ? nil : progress.statusSection,
                leader: MonitorSyncStatus.Leader(
                    syncsRunning: UInt32(clamping: running), trimHeld: held,
                    granted: UInt64(clamping: leaderStatistics.accepted),
                    retryAnswers: UInt64(clamping: leaderStatistics.retried + leaderStatistics.refusedNotLeader),
                    trimTimeouts: UInt64(clamping: leaderStatistics.timedOut),
                    explicitAborts: UInt64(clamping: leaderStatistics.abortedForTrim)),
                provider: MonitorSyncStatus.Provider(
                    sessionsActive: UInt32(clamping: sessions), served: UInt64(clamping: providerStatistics.sessionsStarted),
                    completed: UInt64(clamping: providerStatistics.sessionsCompleted),
                    chunksSent: UInt64(clamping: providerStatistics.chunksSent),
                    bytesSent: UInt64(clamping: providerStatistics.bytesSent),
                    refusals: UInt64(clamping: providerStatistics.refusedBusy + providerStatistics.refusedCannotServe)))
        }
    }

    /// The monitor as the roles see it.
    final class Environment: SyncLeaderEnvironment, SyncProviderEnvironment, SyncRequesterEnvironment, TrimHoldControl, Sendable {
        let monitor: Monitor
        private let state = LockedState<(hold: TrimHold?, knownLeader: MonitorEntity?)>((nil, nil))

        init(monitor: Monitor) { self.monitor = monitor }

        func setKnownLeader(_ leader: MonitorEntity?) { state.withLock { $0.knownLeader = leader } }

        func localEntity() async -> MonitorEntity { monitor.entity }

        func currentLeader() async -> MonitorEntity? {
            let status = await monitor.status
            if let rank = status.leader, let entity = monitor.monmap.member(rank: rank) { return entity }
            // Out of the quorum (synchronizing): the leader the probe found.
            return state.withLock { $0.knownLeader }
        }

        func providerCandidates() async -> [MonitorEntity] {
            await monitor.status.quorum.compactMap { monitor.monmap.member(rank: $0) }
        }

        func paxosBounds() async -> (first: UInt64, last: UInt64) {
            await (monitor.firstCommitted, monitor.lastCommitted)
        }

        /// Serves when this monitor is not copying a store itself and holds a committed member's store:
        /// it has a Paxos history (`last_committed > 0`) and its last probe did not find it oblivious.
        ///
        /// Quorum membership is deliberately not required (Ceph's provider does not require it either):
        /// when a provider dies mid-sync in a three-monitor cluster, the survivor has lost its quorum
        /// (1 of 3) and is electing; the only way back to a majority is finishing the requester's sync,
        /// so a survivor that refused would leave the cluster down for good. The copy stays safe without
        /// a quorum: the snapshot is of committed versions only, and the requester rolls it forward to
        /// one version (and joins through Paxos recovery, which brings it up to the quorum's).
        func canServeSync() async -> Bool {
            switch await monitor.state {
            case .synchronizing, .shutdown: return false
            case .probing, .electing, .leader, .peon: break
            }
            if case .needsFullSync = await monitor.lastJoinDecision { return false }
            return await monitor.lastCommitted > 0
        }

        func syncTargets() async -> [String] { monitor.syncTargetNames }

        func setTrimHeld(_ held: Bool) async {
            if held {
                guard state.withLock({ $0.hold == nil }) else { return }
                let hold = await monitor.holdTrim(reason: "store sync")
                state.withLock { $0.hold = hold }
            } else if let hold = state.withLock({ state -> TrimHold? in defer { state.hold = nil }; return state.hold }) {
                await monitor.releaseTrim(hold)
            }
        }
    }
}
