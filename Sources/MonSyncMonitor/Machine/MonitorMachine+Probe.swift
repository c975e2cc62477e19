import MonSyncCore
import MonSyncMessages

/// Probing (Ceph's `bootstrap`, `handle_probe`, `handle_probe_reply`).
extension MonitorMachine {
    /// Leaves any quorum and probes every peer; the replies decide how to join.
    mutating func bootstrap(reason: String) {
        guard state != .shutdown else { return }
        logger.info("bootstrap", metadata: ["reason": "\(reason)", "from": "\(state)"])
        statistics.bootstraps += 1
        leaveQuorum(reason: reason)
        cancelAllTimers()
        elector = ElectorState()
        state = .probing
        probe = ProbeState()
        if monmap.count == 1 {
            lastJoinDecision = .joinElection
            startElection()
            return
        }
        let message = probeMessage(op: .probe)
        for peer in monmap.ranks where peer != rank { send(message, toRank: peer) }
        arm(.probe, after: jittered(configuration.probeTimeout))
    }

    /// A probe or reply; a reply to a monitor whose monmap is older than ours carries ours.
    func probeMessage(op: MMonProbe.Op, offeringMonmapAbove peerEpoch: UInt32? = nil) -> MMonProbe {
        let offers = peerEpoch.map { $0 < monmap.epoch } ?? false
        return MMonProbe(op: op, senderName: name, senderRank: rank, state: state, electionEpoch: electionEpoch,
                         monmapEpoch: monmap.epoch, quorum: state.isInQuorum ? quorum : [],
                         leader: state.isInQuorum ? leader : nil,
                         firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted,
                         monmap: offers ? monmap.members : [])
    }

    mutating func handleProbe(_ message: MMonProbe, from sender: TransportAddress) {
        if message.op == .probe, message.monmapEpoch < monmap.epoch, monmap.rank(of: sender) != message.senderRank {
            // A monitor our map no longer names where it says (removed, or moved), probing with an
            // older map: tell it the current one, so it finds out (Ceph answers probes from outside
            // the monmap the same way). It learns nothing it could not ask any monitor's status for.
            return send(probeMessage(op: .reply, offeringMonmapAbove: message.monmapEpoch), to: sender)
        }
        if message.op == .reply, message.monmapEpoch > monmap.epoch, !message.monmap.isEmpty,
           let known = monmap.rank(of: sender), monmap.member(rank: known)?.name == message.senderName {
            // A newer map from a monitor of ours, checked by address and name: its rank may have
            // changed in the map it offers (ranks close up when a member is removed).
            return adoptOffered(epoch: message.monmapEpoch, members: message.monmap, from: known)
        }
        guard let peer = verifiedSender(sender, claims: message.senderRank),
              monmap.member(rank: peer)?.name == message.senderName else { return }
        switch message.op {
        case .probe:
            send(probeMessage(op: .reply, offeringMonmapAbove: message.monmapEpoch), toRank: peer)
            // A peer that follows a newer map offers it in its replies: ask it.
            if message.monmapEpoch > monmap.epoch { send(probeMessage(op: .probe), toRank: peer) }
        case .reply:
            handleProbeReply(message, from: peer)
        }
    }

    private mutating func handleProbeReply(_ message: MMonProbe, from peer: Int32) {
        guard state == .probing else { return noteStale("probe reply while \(state)") }
        probe.replies[peer] = PeerProbeInfo(
            entity: monmap.members[Int(peer)], state: message.state, quorum: message.quorum, leader: message.leader,
            firstCommitted: message.firstCommitted, lastCommitted: message.lastCommitted)
        guard let decision = JoinDecision.evaluate(
            localFirstCommitted: paxos.firstCommitted, localLastCommitted: paxos.lastCommitted,
            peers: Array(probe.replies.values), majority: monmap.majority, monmap: monmap)
        else { return }
        lastJoinDecision = decision
        switch decision {
        case .joinElection:
            startElection()
        case let .needsFullSync(requirement):
            enterSynchronizing(requirement)
        }
    }

    private mutating func enterSynchronizing(_ requirement: SyncRequirement) {
        cancelAllTimers()
        state = .synchronizing
        syncProvider.reset()  // a monitor that copies a store serves none meanwhile
        logger.warning("oblivious: only a full store sync can bring this monitor up to date", metadata: [
            "requirement": "\(requirement)",
        ])
        if syncsItself {
            actions.append(.needsFullSync(requirement))
        } else {
            // This monitor does not run the store sync (`runsStoreSync: false`): stay out of the
            // quorum (joining would serve a store that cannot be brought up to date) and look again later.
            arm(.syncRetry, after: configuration.electionTimeout)
        }
    }
}
