import MonSyncMessages

/// What a probing monitor has gathered: the replies of this probe round.
struct ProbeState: Sendable {
    /// Replies by rank.
    var replies: [Int32: PeerProbeInfo] = [:]
}

/// The elector's state (Ceph's `Elector`): whom this monitor is electing.
struct ElectorState: Sendable {
    /// Whether this monitor proposed itself in the current epoch.
    var electingMe = false
    /// Who acked this monitor's proposal (itself included).
    var ackedMe: Set<Int32> = []
    /// The monitor this one deferred to, if any.
    var leaderAcked: Int32?
    /// The features every monitor in ``ackedMe`` supports (this monitor's own included).
    var ackedFeatures: MonitorFeatures = []
}
