public import MonSyncCore

/// What the leader role needs from its monitor: who leads, who may provide, and the Paxos log's bounds.
///
/// The monitor implements it; its answers must reflect the state at the moment
/// of the call (they are read while handling each message).
public protocol SyncLeaderEnvironment: Sendable {
    /// This monitor's own entity.
    func localEntity() async -> MonitorEntity
    /// The current leader, if a quorum exists (this monitor itself when it leads).
    func currentLeader() async -> MonitorEntity?
    /// Quorum members that can provide a sync (in the quorum, not syncing), leader included.
    func providerCandidates() async -> [MonitorEntity]
    /// The Paxos log bounds `(first_committed, last_committed)`.
    func paxosBounds() async -> (first: UInt64, last: UInt64)
}

/// How the leader's Paxos trimming is told to hold off while syncs run.
///
/// The leader role turns the hold on when it accepts the first sync and off a
/// delay after the last one ends (``SyncConfiguration/trimEnableDelay``). While
/// held, Paxos must not trim; if the held log grows past
/// ``SyncConfiguration/maxHeldVersions``, Paxos calls
/// ``SyncLeader/trimMustResume()`` first, which aborts the running syncs
/// explicitly, and only then trims — never silently under a sync.
public protocol TrimHoldControl: Sendable {
    /// Whether Paxos trimming is held (true) or allowed (false).
    func setTrimHeld(_ held: Bool) async
}
