import MonSyncCore

/// The timers of a monitor; at most one of each kind is armed at a time.
public enum MonitorTimer: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Probing: no decision within the probe timeout → probe again.
    case probe
    /// Electing: the election did not end in time.
    case election
    /// Leader: not every LAST (collect) or a majority of ACCEPTs arrived in time.
    case paxosRound
    /// Leader: time to extend the lease.
    case leaseRenew
    /// Leader: not every quorum member acked the lease in time.
    case leaseAck
    /// Peon: no lease from the leader in time.
    case leaseTimeout
    /// Leader: the propose interval for batching writes has passed (or a new leader's wait ended).
    case propose
    /// Synchronizing without a store sync: probe again later.
    case syncRetry
    /// Leader: a sync grant's deadline, or the end of a finished sync's trim hold.
    case syncLeader
    /// A sync provider session's deadline.
    case syncProvider

    public var description: String {
        switch self {
        case .probe: "probe"
        case .election: "election"
        case .paxosRound: "paxos_round"
        case .leaseRenew: "lease_renew"
        case .leaseAck: "lease_ack"
        case .leaseTimeout: "lease_timeout"
        case .propose: "propose"
        case .syncRetry: "sync_retry"
        case .syncLeader: "sync_leader"
        case .syncProvider: "sync_provider"
        }
    }
}

/// A shell's armed timers, at most one of each kind, that feed its machine the firing with the
/// generation it was armed with (the machine ignores a stale one). The monitor's and the sync
/// requester's shells both use it.
///
/// The deadlines live in one heap served by one sleeping task (``ClientTimers``), not a task each:
/// a leader re-arms its round and lease timers on every Paxos version and a peon its lease timeout,
/// and a task per arming (a kernel timer, a cancellation and the dispatch manager's wake-ups each)
/// was a fixed cost of every version, paid again for every write when versions are small.
struct TimerTasks<Timer: Hashable> {
    private var timers: ClientTimers?
    private var tokens: [Timer: ClientTimers.Token] = [:]

    mutating func arm(_ timer: Timer, deadline: Duration, timebase: Timebase,
                      fire: @escaping @Sendable () async -> Void) {
        cancel(timer)
        let timers = self.timers ?? ClientTimers(timebase: timebase)
        self.timers = timers
        tokens[timer] = timers.schedule(at: deadline) { Task { await fire() } }
    }

    mutating func cancel(_ timer: Timer) {
        if let token = tokens.removeValue(forKey: timer) { timers?.cancel(token) }
    }

    mutating func cancelAll() {
        timers?.shutdown()
        timers = nil
        tokens.removeAll()
    }
}
