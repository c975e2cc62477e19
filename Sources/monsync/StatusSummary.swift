import MonSyncHealth

/// What `status --json` prints: the cluster as a whole (health, monmap, quorum, leader, syncs) and
/// then each monitor's own row, the way `ceph status -f json` puts the cluster first.
struct StatusSummary: Encodable {
    /// A member of the cluster's monmap.
    struct Member: Encodable {
        var rank: Int32
        var name: String
        var address: String
    }

    /// The cluster's monmap: the newest a monitor reported.
    struct Monmap: Encodable {
        var epoch: UInt32?
        var members: [Member]
    }

    /// A store sync in progress (or the last one of a monitor that is not back in the quorum).
    struct Sync: Encodable {
        /// The monitor copying the store.
        var monitor: String
        var requester: SyncSection.Requester
        /// Seconds since the sync last advanced (`SYNC_STALLED` past `--sync-stall-timeout`).
        var idleSeconds: Double?
    }

    var health: HealthReport
    var monmap: Monmap
    /// The quorum as its newest member reports it; empty without one.
    var quorum: [String]
    var leader: String?
    var electionEpoch: UInt32?
    /// Monitors asked, and how many answered.
    var asked: Int
    var answered: Int
    var syncs: [Sync]
    var monitors: [StatusRow]

    init(_ view: ClusterView) {
        health = view.report
        monmap = Monmap(epoch: view.observation.monmapEpoch == 0 ? nil : view.observation.monmapEpoch,
                        members: view.observation.members.map { Member(rank: $0.rank, name: $0.name, address: $0.address) })
        let serving = view.rows.filter(\.inQuorum).max { ($0.electionEpoch ?? 0, $0.state == "leader" ? 1 : 0) < ($1.electionEpoch ?? 0, $1.state == "leader" ? 1 : 0) }
        quorum = serving?.quorum ?? []
        leader = serving?.leader
        electionEpoch = serving?.electionEpoch
        asked = view.rows.count
        answered = view.answered
        syncs = view.rows.compactMap { row in
            guard let requester = row.sync?.requester, ["requesting", "streaming", "swapping"].contains(requester.phase)
                || (requester.phase == "failed" && !row.inQuorum) else { return nil }
            return Sync(monitor: row.name, requester: requester, idleSeconds: row.vitals?.syncIdleSeconds)
        }
        monitors = view.rows
    }
}
