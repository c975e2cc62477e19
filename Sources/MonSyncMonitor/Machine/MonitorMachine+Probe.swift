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

    func probeMessage(op: MMonProbe.Op) -> MMonProbe {
        MMonProbe(op: op, senderName: name, senderRank: rank, state: state, electionEpoch: electionEpoch,
                  monmapEpoch: monmap.epoch, quorum: state.isInQuorum ? quorum : [],
                  leader: state.isInQuorum ? leader : nil,
                  firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted)
    }

    mutating func handleProbe(_ message: MMonProbe, from sender: TransportAddress) {
        guard let peer = verifiedSender(sender, claims: message.senderRank),
              monmap.member(rank: peer)?.name == message.senderName else { return }
        switch message.op {
        case .probe:
            send(probeMessage(op: .reply), toRank: peer)
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
