import MonSyncCore
public import MonSyncMessages

/// What a store sync needs to know to start: who is ahead, and by how much.
public struct SyncRequirement: Sendable, Hashable, CustomStringConvertible {
    /// This monitor's first retained version when it decided.
    public var localFirstCommitted: UInt64
    /// This monitor's last committed version when it decided.
    public var localLastCommitted: UInt64
    /// The quorum's leader, when a reply named one.
    public var leader: MonitorEntity?
    /// The leader's first retained version, when the leader replied.
    public var leaderFirstCommitted: UInt64?
    /// The leader's last committed version, when the leader replied.
    public var leaderLastCommitted: UInt64?
    /// The quorum the replies reported (ranks), empty when none.
    public var quorum: [Int32]
    /// Peers that hold newer versions, best first: quorum members, then the most advanced.
    public var providers: [PeerProbeInfo]

    public var description: String {
        "local \(localFirstCommitted)...\(localLastCommitted), leader \(leader.map { "\($0)" } ?? "unknown")"
            + " fc \(leaderFirstCommitted.map(String.init) ?? "?"), \(providers.count) provider candidate(s)"
    }
}
