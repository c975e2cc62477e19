import MonSyncCore
public import MonSyncMessages

/// A peer as its probe reply described it.
public struct PeerProbeInfo: Sendable, Hashable {
    /// The peer.
    public var entity: MonitorEntity
    /// Its state when it replied.
    public var state: MonitorState
    /// Its quorum (empty outside one).
    public var quorum: [Int32]
    /// Its leader (in a quorum).
    public var leader: Int32?
    /// Its first retained version.
    public var firstCommitted: UInt64
    /// Its last committed version.
    public var lastCommitted: UInt64

    /// A peer's reply.
    public init(entity: MonitorEntity, state: MonitorState, quorum: [Int32], leader: Int32?,
                firstCommitted: UInt64, lastCommitted: UInt64) {
        self.entity = entity
        self.state = state
        self.quorum = quorum
        self.leader = leader
        self.firstCommitted = firstCommitted
        self.lastCommitted = lastCommitted
    }

    /// Whether the peer is a member of a quorum.
    public var inQuorum: Bool { quorum.contains(entity.rank) }
    /// Whether the peer is its quorum's leader.
    public var isLeader: Bool { leader == entity.rank }
}
