/// Every timer and Paxos setting of a monitor, with Ceph's defaults.
///
/// | setting | Ceph option | default |
/// |---|---|---|
/// | ``probeTimeout`` | `mon_probe_timeout` | 2 s |
/// | ``electionTimeout`` | `mon_election_timeout` | 5 s |
/// | ``lease`` | `mon_lease` | 5 s |
/// | ``leaseRenewInterval`` | `mon_lease_renew_interval` | 3 s |
/// | ``leaseAckTimeout`` | `mon_lease_ack_timeout` | 10 s (2 × lease) |
/// | ``acceptTimeout`` | `mon_accept_timeout` | 10 s (2 × lease) |
/// | ``paxosMin`` | `paxos_min` | 500 |
/// | ``paxosTrimMin`` | `paxos_trim_min` | 250 |
/// | ``paxosTrimMax`` | `paxos_trim_max` | 500 |
/// | ``trimDisabledMaxVersions`` | `paxos_trim_disabled_max_versions` | 108 000 (Ceph v0.61.5; 100 in v0.59) |
/// | ``proposeInterval`` | `paxos_propose_interval` | 0 (Ceph: 1 s) |
/// | ``maxShareBytes`` | — | 16 MiB |
/// | ``leaseClockSkew`` | — (Ceph: `mon_clock_drift_allowed`) | 0.05 |
public struct MonitorConfiguration: Sendable, Hashable {
    /// How long a probing monitor waits for replies before probing again.
    public var probeTimeout: Duration
    /// How long an election may take before it is restarted (the proposer declares
    /// victory at this point if a majority acked; a deferring monitor starts over).
    public var electionTimeout: Duration
    /// How long a lease lets a peon serve reads without hearing from the leader.
    public var lease: Duration
    /// How often the leader extends the lease (before it runs out).
    public var leaseRenewInterval: Duration
    /// Leader: how long it waits for every lease ack; peon: how long it waits for
    /// the next lease (or the first, after an election) before it bootstraps.
    public var leaseAckTimeout: Duration
    /// How long the leader waits for LAST (collect) and ACCEPT (begin) replies before it bootstraps.
    public var acceptTimeout: Duration
    /// The fewest Paxos versions the leader keeps when it trims.
    public var paxosMin: UInt64
    /// How many versions beyond ``paxosMin`` must accumulate before a trim is proposed.
    public var paxosTrimMin: UInt64
    /// The most versions one trim erases.
    public var paxosTrimMax: UInt64
    /// While trim is held, how many versions may be committed past the hold before the leader
    /// trims anyway (Ceph's `paxos_trim_disabled_max_versions`). A store sync holds only the
    /// versions it still needs — trims of older ones go ahead — and past this many the leader
    /// aborts the syncs a trim would break, then trims; it also answers new syncs RETRY.
    public var trimDisabledMaxVersions: UInt64
    /// How long the leader waits after the first queued write before proposing,
    /// to batch writes (Ceph's `paxos_propose_interval`). Writes queued while a
    /// round is in flight are always batched into the next one.
    public var proposeInterval: Duration
    /// How many client writes the leader queues before refusing more.
    public var maxPendingWrites: Int
    /// The most value bytes one LAST or COMMIT carries when versions are shared
    /// during recovery (more versions go in further COMMITs, or the next recovery).
    public var maxShareBytes: Int
    /// The most two monitors' clocks may differ in *rate* (0.05: one runs at most 5 % faster than
    /// another). The leader's read lease is shortened by twice this, so it ends before any monitor
    /// that acked it could help elect another leader. Clamped to 0…0.25.
    public var leaseClockSkew: Double
    /// Whether a peon forwards a client's write to the leader (Ceph's routed requests), which then
    /// answers the client directly. Off, a peon answers NOT_LEADER naming the leader, and the client
    /// goes there itself: what an authenticated cluster does, where the leader could not prove the
    /// client's key to reply to an address it only heard of from a peon (docs/SECURITY.md).
    public var forwardsCommands = true

    /// A configuration; every parameter defaults to Ceph's value (counts are clamped to at least 1).
    public init(
        probeTimeout: Duration = .seconds(2),
        electionTimeout: Duration = .seconds(5),
        lease: Duration = .seconds(5),
        leaseRenewInterval: Duration = .seconds(3),
        leaseAckTimeout: Duration = .seconds(10),
        acceptTimeout: Duration = .seconds(10),
        paxosMin: UInt64 = 500,
        paxosTrimMin: UInt64 = 250,
        paxosTrimMax: UInt64 = 500,
        trimDisabledMaxVersions: UInt64 = 108_000,
        proposeInterval: Duration = .zero,
        maxPendingWrites: Int = 10_000,
        maxShareBytes: Int = 16 << 20,
        leaseClockSkew: Double = 0.05
    ) {
        self.probeTimeout = probeTimeout
        self.electionTimeout = electionTimeout
        self.lease = lease
        self.leaseRenewInterval = leaseRenewInterval
        self.leaseAckTimeout = leaseAckTimeout
        self.acceptTimeout = acceptTimeout
        self.paxosMin = max(1, paxosMin)
        // At least 2 each: a trim is a version itself (see TrimPolicy).
        self.paxosTrimMin = max(2, paxosTrimMin)
        self.paxosTrimMax = max(2, paxosTrimMax)
        self.trimDisabledMaxVersions = trimDisabledMaxVersions
        self.proposeInterval = proposeInterval
        self.maxPendingWrites = max(1, maxPendingWrites)
        self.maxShareBytes = max(1, maxShareBytes)
        self.leaseClockSkew = min(max(leaseClockSkew, 0), 0.25)
    }

    /// Ceph's defaults.
    public static let `default` = MonitorConfiguration()
}
