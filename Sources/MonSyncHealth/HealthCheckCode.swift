/// The name of a health check, as Ceph names its own (`MON_DOWN`, …): stable, for scripts and alerts.
///
/// The order of the cases is the order checks of the same severity are listed in.
public enum HealthCheckCode: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// No monitor is in a quorum (or none answered): the cluster serves no reads and no writes. Error.
    case noQuorum = "NO_QUORUM"
    /// A store's filesystem is almost out of space (below the error threshold, 5 % by default). Error.
    case storeFull = "STORE_FULL"
    /// Monitors of the monmap are out of the quorum (down, unreachable, probing, syncing). Warning.
    case monDown = "MON_DOWN"
    /// A store's filesystem is running out of space (below the warning threshold, 30 % by default). Warning.
    case storeNearlyFull = "STORE_NEARLY_FULL"
    /// A monitor is copying the store from a peer (store sync). Warning.
    case monSyncing = "MON_SYNCING"
    /// A store sync has made no progress for longer than the stall threshold (30 s by default). Warning.
    case syncStalled = "SYNC_STALLED"
    /// A monitor's last store sync failed and it is out of the quorum. Warning.
    case syncFailed = "SYNC_FAILED"
    /// Monitors run different monmaps, or the client's monmap is not the cluster's. Warning.
    case monmapMismatch = "MONMAP_MISMATCH"

    public var description: String { rawValue }
}
