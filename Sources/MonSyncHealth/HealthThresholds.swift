/// When a measured quantity raises a check: Ceph's `mon_data_avail_warn` and `mon_data_avail_crit`
/// for the store's free space, and how long a sync may go without progress.
public struct HealthThresholds: Sendable, Hashable {
    /// Below this share of free space (percent) on a store's filesystem: STORE_NEARLY_FULL (Ceph: 30).
    public var storeNearlyFullPercent: Double
    /// Below this share: STORE_FULL, an error (Ceph: 5).
    public var storeFullPercent: Double
    /// A sync that has not advanced for this long: SYNC_STALLED.
    public var syncStallTimeout: Duration

    /// Thresholds; the defaults are Ceph's (30 %, 5 %) and 30 s, the requester's own chunk timeout.
    public init(storeNearlyFullPercent: Double = 30, storeFullPercent: Double = 5, syncStallTimeout: Duration = .seconds(30)) {
        self.storeNearlyFullPercent = storeNearlyFullPercent
        self.storeFullPercent = storeFullPercent
        self.syncStallTimeout = syncStallTimeout
    }

    /// The defaults.
    public static let `default` = HealthThresholds()
}
