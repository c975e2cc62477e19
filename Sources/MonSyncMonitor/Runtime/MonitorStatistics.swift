/// Counters of one monitor's life, for tests, `status` and metrics.
public struct MonitorStatistics: Sendable, Hashable {
    /// Times the monitor went back to probing.
    public var bootstraps = 0
    /// Newer monmaps adopted (committed through Paxos, or learned from a peer).
    public var monmapsAdopted = 0
    /// Elections this monitor started (proposed itself in).
    public var electionsStarted = 0
    /// Elections this monitor won.
    public var electionsWon = 0
    /// Paxos versions committed locally (by any path: round, share, recovery).
    public var commits = 0
    /// Trims proposed by this monitor as leader.
    public var trimsProposed = 0
    /// Recoveries (collect rounds) this monitor completed as leader.
    public var recoveries = 0
    /// Versions this leader sent to peons that lacked them.
    public var versionsShared = 0
    /// Client writes committed by this monitor as leader.
    public var writesCommitted = 0
    /// Client commands forwarded to the leader.
    public var commandsForwarded = 0
    /// Client commands answered INVALID or TOO_LARGE because no monitor would serve them (an empty key, a key or value over the limits).
    public var commandsRefused = 0
    /// Messages ignored as stale (old epoch, wrong state, not from the leader, …).
    public var staleMessages = 0
    /// Messages refused because their sender is not the monmap member they claim to be.
    public var impostorMessages = 0
    /// Election proposals ignored because the proposer lacks versions this monitor has trimmed (it must sync, not lead).
    public var obliviousProposals = 0
    /// Election proposals and acks refused because the sender's build lacks a feature the cluster
    /// requires (`MonitorFeatures`): such a monitor may take no part in elections.
    public var electionMessagesLackingFeatures = 0
    /// Times the store failed an operation.
    public var storeFailures = 0
    /// Lease rounds this monitor started as leader (Ceph's `extend_lease`).
    public var leaseRenewals = 0
    /// Leases that ran out: a peon's lease from the leader expired, or a leader missed lease acks
    /// (either one sends the monitor back to probing).
    public var leaseExpiries = 0
}
