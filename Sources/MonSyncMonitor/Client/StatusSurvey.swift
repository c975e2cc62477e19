public import MonSyncCore
public import MonSyncMessages

/// The answers to one ``MonitorClient/survey(timeout:attemptTimeout:)``: which monitors were asked
/// for their status and what each one said.
public struct StatusSurvey: Sendable {
    /// Every monitor asked, in the order asked: the client's monmap, then the members it learned
    /// from the replies' monmaps.
    public var asked: [TransportAddress]
    /// The replies, by the monitor asked (a status is answered by the monitor itself, never forwarded).
    public var replies: [TransportAddress: MMonCommandReply]

    /// A survey's result.
    public init(asked: [TransportAddress], replies: [TransportAddress: MMonCommandReply]) {
        self.asked = asked
        self.replies = replies
    }

    /// The monmap the cluster reports: the members and epoch of the answering monitor with the
    /// newest monmap; `nil` when no reply carried one (no monitor answered, or all predate it).
    public var clusterMonmap: (epoch: UInt32, members: [MonitorEntity])? {
        let newest = asked.compactMap { replies[$0] }.filter { !$0.monmap.isEmpty }.max { $0.monmapEpoch < $1.monmapEpoch }
        return newest.map { ($0.monmapEpoch, $0.monmap) }
    }

    /// The monitors a backup asks for a snapshot, best first: the quorum's peons (they lead
    /// nothing, so a stream costs the cluster least there), then the leader, then the other
    /// monitors that answered (out of a quorum, a monitor still serves while its store is a
    /// committed member's), then the members that did not answer (they may still come up).
    ///
    /// Each is named as the cluster's monmap names it, with the address it was asked at.
    public var backupProviders: [MonitorEntity] {
        let members = clusterMonmap?.members ?? []
        func entity(_ address: TransportAddress) -> MonitorEntity {
            if let member = members.first(where: { (try? TransportAddress($0.address)) == address }) { return member }
            let status = replies[address]?.status
            return MonitorEntity(rank: status?.rank ?? -1, name: status?.name ?? address.description, address: address.description)
        }
        func tier(_ address: TransportAddress) -> Int {
            guard let status = replies[address]?.status else { return 3 }
            switch status.state {
            case .peon: return 0
            case .leader: return 1
            case .probing, .electing: return 2
            case .synchronizing, .shutdown, .removed: return 3  // refuses (cannot_serve) until it is done, or for good
            }
        }
        var known = asked
        for member in members {
            if let address = try? TransportAddress(member.address), !known.contains(address) { known.append(address) }
        }
        return known.enumerated().sorted { ($0.offset + tier($0.element) * 1000) < ($1.offset + tier($1.element) * 1000) }
            .map { entity($0.element) }
    }
}
