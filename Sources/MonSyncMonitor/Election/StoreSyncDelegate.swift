/// The hook through which a store sync takes over an oblivious monitor.
///
/// When probing finds that only a full sync can bring this monitor up to date
/// (``JoinDecision/needsFullSync(_:)``), the monitor enters
/// ``MonitorState/synchronizing``, stops taking part in elections and Paxos,
/// and calls ``monitor(_:needsFullSync:)``. The sync then runs on the
/// monitor's dispatcher (``Monitor/dispatcher``; MMonSync is in its codec)
/// and ends with ``Monitor/syncFinished()``, which re-probes and joins.
///
/// On the leader's side, a sync holds trim with ``Monitor/holdTrim(reason:)``
/// and asks ``Monitor/isTrimDue`` before granting a new sync (Ceph's RETRY rule).
public protocol StoreSyncDelegate: AnyObject, Sendable {
    /// Called once per decision, on a task of its own; the monitor stays in
    /// ``MonitorState/synchronizing`` until ``Monitor/syncFinished()``.
    func monitor(_ monitor: Monitor, needsFullSync requirement: SyncRequirement) async

    /// Called on the leader when it proposes a trim although trim holds are out (the held log
    /// reached ``MonitorConfiguration/trimDisabledMaxVersions``): syncs that need versions below
    /// `firstCommitted` must be aborted explicitly rather than trimmed under silently.
    func monitor(_ monitor: Monitor, trimsPastHoldsTo firstCommitted: UInt64, holds: [TrimHold]) async

    /// The sync section of `status` (``MonitorStatus/sync``): the requester's progress and the
    /// leader's and provider's counters; `nil` when there is nothing to show. Called for each
    /// status command, off the monitor's actor.
    func syncStatus(of monitor: Monitor) async -> MonitorSyncStatus?
}

extension StoreSyncDelegate {
    /// Does nothing.
    public func monitor(_ monitor: Monitor, trimsPastHoldsTo firstCommitted: UInt64, holds: [TrimHold]) async {}

    /// Nothing to show.
    public func syncStatus(of monitor: Monitor) async -> MonitorSyncStatus? { nil }
}
