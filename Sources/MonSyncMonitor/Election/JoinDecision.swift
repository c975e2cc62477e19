public import MonSyncCore

/// What a probing monitor decided from its peers' probe replies.
///
/// A monitor is *oblivious* when its `last_committed + 1` is below a peer's
/// `first_committed`: the versions it lacks are trimmed everywhere, so Paxos
/// recovery cannot bring it up to date and only a full store sync can
/// (``needsFullSync(_:)``). Otherwise it joins an election and any gap is
/// closed by the new leader's recovery (``joinElection``).
public enum JoinDecision: Sendable, Hashable, CustomStringConvertible {
    /// Join the quorum through an election; Paxos recovery closes any gap.
    case joinElection
    /// Only a full store sync can close the gap; the requirement says from whom and how far.
    case needsFullSync(SyncRequirement)

    public var description: String {
        switch self {
        case .joinElection: "join election"
        case let .needsFullSync(requirement): "needs full sync (\(requirement))"
        }
    }

    /// Decides from the local Paxos bounds and the replies gathered so far.
    ///
    /// `monmap` names the leader a reply reports even when the leader itself has not replied yet.
    ///
    /// - Returns: `nil` while the replies do not allow a decision yet (no
    ///   quorum reported and fewer than a majority of monitors found outside one).
    public static func evaluate(localFirstCommitted: UInt64, localLastCommitted: UInt64,
                                peers: [PeerProbeInfo], majority: Int, monmap: MonMap? = nil) -> JoinDecision? {
        let ahead = peers.filter { localLastCommitted + 1 < $0.firstCommitted }
        if !ahead.isEmpty {
            // Providers: peers that retain something newer than us, quorum members first, the most advanced first.
            let candidates = peers.filter { $0.lastCommitted > localLastCommitted }.sorted { lhs, rhs in
                if lhs.inQuorum != rhs.inQuorum { return lhs.inQuorum }
                if lhs.lastCommitted != rhs.lastCommitted { return lhs.lastCommitted > rhs.lastCommitted }
                return lhs.entity.rank < rhs.entity.rank
            }
            let leaderRank = peers.first { $0.isLeader }?.entity.rank ?? peers.compactMap(\.leader).first
            let leaderReply = peers.first { $0.entity.rank == leaderRank }
            let leaderEntity = leaderReply?.entity ?? leaderRank.flatMap { monmap?.member(rank: $0) }
            return .needsFullSync(SyncRequirement(
                localFirstCommitted: localFirstCommitted, localLastCommitted: localLastCommitted,
                leader: leaderEntity, leaderFirstCommitted: leaderReply?.firstCommitted,
                leaderLastCommitted: leaderReply?.lastCommitted,
                quorum: peers.first { !$0.quorum.isEmpty }?.quorum ?? [],
                providers: candidates))
        }
        if peers.contains(where: { !$0.quorum.isEmpty }) { return .joinElection }
        return peers.count + 1 >= majority ? .joinElection : nil
    }
}

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
