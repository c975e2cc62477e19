import MonSyncCore

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
