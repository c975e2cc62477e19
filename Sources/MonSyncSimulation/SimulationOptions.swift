@_spi(Testing) public import MonSyncMonitor
import MonSyncStore
@_spi(Testing) public import MonSyncStoreSync

/// One simulated scenario: the cluster, the faults, the workload and how long it runs.
public struct SimulationOptions: Sendable {
    /// Monitors in the cluster (3 or 5); in the membership scenario, the initial members.
    public var monitors: Int = 3
    /// Events (message deliveries, timer firings, client and fault actions) in the fault phase.
    public var steps: Int = 4_000
    /// Concurrent clients, each with one operation in flight.
    public var clients: Int = 3
    /// Keys the clients read and write (few, so operations conflict).
    public var keys: Int = 3
    /// A message's usual one-way delay, in milliseconds (drawn uniformly from 1 to this).
    public var maximumDelayMilliseconds: Int = 20
    /// Per message: the probability it is lost.
    public var dropRate = 0.02
    /// Per message: the probability it is delivered twice.
    public var duplicateRate = 0.02
    /// Per message: the probability of a long delay (up to 3 s) that reorders it.
    public var longDelayRate = 0.02
    /// Per event: the probability of a crash (a monitor stops; restarted later from what it persisted).
    public var crashRate = 0.003
    /// Per event: the probability of a crash in the middle of executing one step's actions.
    public var midStepCrashRate = 0.001
    /// Per event: the probability of a partition.
    public var partitionRate = 0.004
    /// Per event: the probability that partitions heal.
    public var healRate = 0.004
    /// Each monitor's clock runs at a rate drawn from 1 ± this (within the lease's skew bound).
    public var clockRateDrift = 0.02
    /// After the faults heal, a write must be acknowledged within this much simulated time.
    public var livenessBound: Duration = .seconds(60)
    /// A run stops with a liveness violation when this many events happen at one instant of
    /// simulated time (a livelock: a timer re-armed in the past, messages answered at once forever).
    /// A healthy run handles a few dozen at most.
    public var livelockEvents = 10_000
    /// A client gives up on an operation after this long (its outcome is then unknown).
    public var operationTimeout: Duration = .seconds(20)
    /// The monitors' settings: Ceph's timers, a small log so trims happen.
    public var configuration = MonitorConfiguration(paxosMin: 20, paxosTrimMin: 10, paxosTrimMax: 30,
                                                    trimDisabledMaxVersions: 80)
    /// The store sync's settings: Ceph's timers scaled down to the simulation's store and clients
    /// (small chunks, so a sync takes many), so syncs fail over, time out and finish within a run.
    public var syncConfiguration: SyncConfiguration = {
        var sync = SyncConfiguration()
        sync.trimTimeout = .seconds(6)
        sync.trimEnableDelay = .seconds(3)
        sync.providerTimeout = .seconds(6)
        sync.startTimeout = .seconds(4)
        sync.startRetryBackoff = .seconds(2)
        sync.heartbeatInterval = .seconds(1)
        sync.heartbeatTimeout = .seconds(5)
        sync.chunkTimeout = .seconds(3)
        sync.chunkLimits = ChunkLimits(maxBytes: 256, maxKeys: 4)
        sync.window = 3
        sync.progressLogInterval = .zero
        return sync
    }()
    /// Draw each seed's election timeout from 1, 2, 3 and 5 s (the rest of the timers stay Ceph's).
    public var varyElectionTimeout = true
    /// Faults re-introduced in every machine, to show the checkers catch them.
    @_spi(Testing) public var mutations: MonitorMachine.Mutations = []
    /// Sync faults re-introduced on purpose (only to show the sync checker catches them).
    @_spi(Testing) public var syncMutations: SyncRequesterMachine.Mutations = []
    /// Fixed extra delays on links from one monitor to another, in milliseconds (a slow or overloaded
    /// monitor); they apply in every phase, faults on or off.
    public var slowLinks: [SlowLink] = []
    /// The store-sync scenario: one monitor (of a random rank) starts later, with an empty store,
    /// within a few seconds of the others' first trim; it must join by store sync, under the faults
    /// and the clients' writes. Off by default: a cluster missing a member for a long while
    /// exercises consensus less (a majority of 2 of 3 is every member up), so the consensus
    /// campaign runs without it and the sync campaign with it. Syncs happen in both (a monitor down
    /// long enough for its log to be trimmed).
    public var lateJoiner = false
    /// The membership scenario: an operator (a client of its own, with time-outs and retries) sends
    /// `mon add` and `mon remove` at random moments of the fault phase, among a pool of
    /// ``monitorPool`` monitors of which the first ``monitors`` are the initial members. A monitor
    /// is started (with an empty store: it catches up by recovery or by store sync) once a committed
    /// monmap adds it, and a removed one is stopped soon, much later, or never. The membership
    /// checker runs in every scenario; this one gives it changes to check.
    public var membershipChanges = false
    /// The membership scenario's pool: every monitor that can be a member (at most this many are).
    public var monitorPool = 5
    /// The rolling-upgrade scenario: every monitor starts as the previous build — it supports no
    /// `MonitorFeatures`, so it writes applied-tid records only as lists and reads a runs record
    /// as corrupt — and a monitor restarted after a crash runs the current build. Checked besides
    /// the usual: no monitor's store read fails (an old build given a record it cannot read), and
    /// the cluster requires a feature only once every member of the monmap runs the current build.
    public var rollingUpgrade = false

    /// The store-sync scenario: a late joiner, and a log short enough (trimmed every dozen
    /// versions, syncs aborted past 40 held versions) that monitors that were down a few seconds
    /// fall behind it and sync too. The consensus campaign keeps the longer default log: with
    /// trims this frequent, a minority that committed alone is often synced over before its
    /// conflicting values meet the majority's, and the consensus mutations are found less often.
    public mutating func useSyncScenario() {
        lateJoiner = true
        configuration.paxosMin = 8
        configuration.paxosTrimMin = 4
        configuration.paxosTrimMax = 12
        configuration.trimDisabledMaxVersions = 40
    }

    /// The membership scenario: three initial members of a pool of five, membership changes
    /// interleaved with every fault, and the sync scenario's short log, so an added monitor (empty
    /// store) often joins by store sync rather than by recovery.
    public mutating func useMembershipScenario() {
        membershipChanges = true
        monitorPool = max(monitorPool, monitors)
        configuration.paxosMin = 8
        configuration.paxosTrimMin = 4
        configuration.paxosTrimMax = 12
        configuration.trimDisabledMaxVersions = 40
    }

    /// Send every message as bytes through the monitor's codec (frames, CRCs, validation), as a
    /// transport does, instead of handing the value over.
    public var encodeMessages = true
    /// Keep the trace (for printing a failing seed).
    public var recordTrace = false

    /// The defaults.
    public init() {}
}

/// A link whose every message takes `milliseconds` longer (order kept).
public struct SlowLink: Sendable, Hashable {
    /// The sending monitor's index.
    public var from: Int
    /// The receiving monitor's index.
    public var to: Int
    /// The extra delay of every message on the link.
    public var milliseconds: Int

    /// A link from monitor `from` to monitor `to` that delays every message by `milliseconds` more.
    public init(from: Int, to: Int, milliseconds: Int) {
        self.from = from
        self.to = to
        self.milliseconds = milliseconds
    }
}
