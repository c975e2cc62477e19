import MonSyncCore
import MonSyncMessages

/// Rank-based elections as Ceph's Elector: the lowest reachable rank that a majority acks wins.
///
/// Epochs are odd while electing and even while stable. A monitor proposes itself; a
/// higher-ranked one (larger number) defers with an ACK; the proposer declares VICTORY when
/// everyone acked, or at the election timeout with a majority.
///
/// A monitor whose build lacks a feature the cluster requires (`MonitorFeatures`) takes no part:
/// its proposals are refused with a NAK and its acks ignored, so it never joins a quorum nor leads.
///
/// Two rules keep elections live when messages or handlers run late:
/// - every election and probe timeout is stretched by a random 0–50 %, so monitors that time
///   out together do not restart together forever (Raft's randomised timeout);
/// - each election that ends without a victory doubles the next one's timeout (up to 4×) until
///   this monitor is in a working quorum again, so a monitor whose messages arrive later than
///   the election timeout is eventually waited for instead of being outrun round after round.
extension MonitorMachine {
    /// Proposes this monitor (Ceph's `Elector::start`).
    mutating func startElection() {
        guard state != .shutdown, state != .synchronizing else { return }
        leaveQuorum(reason: "election")
        cancelAllTimers()
        if electionEpoch % 2 == 0 { setElectionEpoch(electionEpoch + 1) }
        state = .electing
        statistics.electionsStarted += 1
        elector = ElectorState(electingMe: true, ackedMe: [rank], leaderAcked: nil, ackedFeatures: supportedFeatures)
        logger.info("election started", metadata: ["epoch": "\(electionEpoch)"])
        if elector.ackedMe.count >= monmap.count { return victory() }
        let propose = MMonElection(op: .propose, epoch: electionEpoch, senderRank: rank, monmapEpoch: monmap.epoch,
                                   lastCommitted: paxos.lastCommitted, features: supportedFeatures)
        for peer in monmap.ranks where peer != rank { send(propose, toRank: peer) }
        arm(.election, after: electionTimeout())
    }

    /// The election timeout for the next round: the configured one, doubled per failed round, jittered.
    mutating func electionTimeout() -> Duration {
        jittered(configuration.electionTimeout * (1 << electionBackoff))
    }

    /// The most doublings of the election timeout.
    static let maximumElectionBackoff = 2

    /// Moves to a newer epoch seen from a peer and joins its election (Ceph's `bump_epoch`).
    private mutating func bumpEpoch(_ epoch: UInt32) {
        logger.info("election epoch bumped", metadata: ["from": "\(electionEpoch)", "to": "\(epoch)"])
        setElectionEpoch(epoch)
        leaveQuorum(reason: "newer election epoch \(epoch)")
        cancelAllTimers()
        elector = ElectorState()
        state = .electing
        arm(.election, after: electionTimeout())
    }

    mutating func handleElection(_ message: MMonElection, from sender: TransportAddress) {
        guard let peer = verifiedSender(sender, claims: message.senderRank) else { return }
        // A syncing monitor takes no part in elections: it cannot serve the quorum's data.
        guard state != .synchronizing else { return noteStale("election message while synchronizing") }
        switch message.op {
        case .propose: handlePropose(message, from: peer)
        case .ack: handleAck(message, from: peer)
        case .nak:
            logger.warning("election proposal refused", metadata: ["by": "\(peer)", "monmap_epoch": "\(message.monmapEpoch)",
                                                                 "their_features": "\(message.features)", "our_features": "\(supportedFeatures)"])
            // The peer follows a newer monmap: probing asks it for that map.
            if message.monmapEpoch > monmap.epoch { bootstrap(reason: "mon.\(peer) follows monmap e\(message.monmapEpoch)") }
        case .victory: handleVictory(message, from: peer)
        }
    }

    private mutating func handlePropose(_ message: MMonElection, from peer: Int32) {
        if message.monmapEpoch != monmap.epoch {
            refuse(message, from: peer)
            // The proposer follows a newer monmap: probing asks it for that map.
            if message.monmapEpoch > monmap.epoch { bootstrap(reason: "mon.\(peer) proposes under monmap e\(message.monmapEpoch)") }
            return
        }
        if !message.features.isSuperset(of: requiredFeatures) {
            // An older build: it may not lead a cluster that writes what it cannot read (Ceph's
            // Elector refuses a proposer lacking the required mon features the same way).
            refuse(message, from: peer)
            return noteLackingFeatures(message, from: peer)
        }
        if message.lastCommitted &+ 1 < paxos.firstCommitted {
            // The proposer is oblivious: it lacks versions this monitor has trimmed, so as leader it
            // could only find that out in recovery and fall back to a sync, after an election and a
            // write outage. Ignore it (no ack, no epoch bump, no re-election): its election fails,
            // and its next probe finds it oblivious.
            statistics.obliviousProposals += 1
            return noteStale("proposal from mon.\(peer) at v\(message.lastCommitted), below our first_committed \(paxos.firstCommitted)")
        }
        if message.epoch > electionEpoch {
            bumpEpoch(message.epoch)
        } else if message.epoch < electionEpoch {
            if electionEpoch % 2 == 0 && !quorum.contains(peer) {
                // A stable quorum hears an old proposal from outside: that monitor just
                // started; call a new election so it can rejoin.
                logger.info("old proposal from a monitor outside the quorum: re-electing", metadata: ["peer": "\(peer)"])
                startElection()
            } else {
                return noteStale("old proposal e\(message.epoch) from \(peer)")
            }
        }
        if rank < peer {
            // This monitor would win over the proposer.
            if elector.leaderAcked == nil && !elector.electingMe { startElection() }
        } else if elector.leaderAcked == nil || elector.leaderAcked! >= peer {
            deferTo(peer)
        }
    }

    private mutating func deferTo(_ peer: Int32) {
        if elector.electingMe {
            elector.electingMe = false
            elector.ackedMe = []
        }
        elector.leaderAcked = peer
        state = .electing
        send(MMonElection(op: .ack, epoch: electionEpoch, senderRank: rank, monmapEpoch: monmap.epoch,
                          lastCommitted: paxos.lastCommitted, features: supportedFeatures), toRank: peer)
        arm(.election, after: electionTimeout())
    }

    private mutating func handleAck(_ message: MMonElection, from peer: Int32) {
        if message.epoch > electionEpoch {
            bumpEpoch(message.epoch)
            startElection()
            return
        }
        guard message.epoch == electionEpoch, elector.electingMe else { return noteStale("ack e\(message.epoch) from \(peer)") }
        guard message.features.isSuperset(of: requiredFeatures) else { return noteLackingFeatures(message, from: peer) }
        elector.ackedMe.insert(peer)
        elector.ackedFeatures.formIntersection(message.features)
        if elector.ackedMe.count == monmap.count { victory() }
    }

    mutating func electionTimedOut() {
        if elector.electingMe && elector.ackedMe.count >= monmap.majority {
            victory()
        } else {
            electionBackoff = min(electionBackoff + 1, Self.maximumElectionBackoff)
            bootstrap(reason: elector.electingMe ? "election without a majority" : "no victory from mon.\(elector.leaderAcked.map(String.init) ?? "?")")
        }
    }

    private mutating func victory() {
        let newQuorum = elector.ackedMe.sorted()
        quorumFeatures = elector.ackedFeatures
        cancel(.election)
        elector = ElectorState()
        setElectionEpoch(electionEpoch + 1)
        state = .leader
        quorum = newQuorum
        leader = rank
        statistics.electionsWon += 1
        logger.info("won the election", metadata: ["epoch": "\(electionEpoch)", "quorum": "\(newQuorum)",
                                                   "quorum_features": "\(quorumFeatures)"])
        let message = MMonElection(op: .victory, epoch: electionEpoch, senderRank: rank, monmapEpoch: monmap.epoch,
                                   quorum: newQuorum, lastCommitted: paxos.lastCommitted, features: supportedFeatures)
        for peer in newQuorum where peer != rank { send(message, toRank: peer) }
        leaderInit()
    }

    private mutating func handleVictory(_ message: MMonElection, from peer: Int32) {
        guard message.epoch >= electionEpoch else { return noteStale("old victory e\(message.epoch) from \(peer)") }
        guard message.quorum.contains(rank) else {
            // A quorum formed without us: make it re-elect so we can join.
            if message.epoch > electionEpoch { setElectionEpoch(message.epoch) }
            startElection()
            return
        }
        if message.epoch == electionEpoch && state == .peon && leader != peer {
            // A second victory in our epoch (a partial partition let two proposers each
            // gather a majority through us): keep the first; the other's rounds time out.
            return noteStale("second victory e\(message.epoch) from \(peer); following \(leader.map(String.init) ?? "?")")
        }
        if message.epoch == electionEpoch && state == .leader {
            // Two victories in one epoch (a partial partition): start over at a newer epoch.
            startElection()
            return
        }
        leaveQuorum(reason: "new quorum")
        cancelAllTimers()
        setElectionEpoch(message.epoch)
        elector = ElectorState()
        state = .peon
        quorum = message.quorum
        leader = peer
        logger.info("joined the quorum as peon", metadata: ["epoch": "\(electionEpoch)", "leader": "\(peer)", "quorum": "\(quorum)"])
        peonInit()
    }

    /// Answers a proposal NAK, with this monitor's monmap epoch and features.
    private mutating func refuse(_ proposal: MMonElection, from peer: Int32) {
        send(MMonElection(op: .nak, epoch: proposal.epoch, senderRank: rank, monmapEpoch: monmap.epoch, features: supportedFeatures),
             toRank: peer)
    }

    /// Counts an election message refused for lacking required features, and logs it once per
    /// sender per interval.
    private mutating func noteLackingFeatures(_ message: MMonElection, from peer: Int32) {
        statistics.electionMessagesLackingFeatures += 1
        refusalLog.log(logger, .warning, "election message from a monitor lacking required features: refused (upgrade it)",
                       key: "features:\(peer)", now: now,
                       metadata: ["peer": "\(peer)", "op": "\(message.op)", "its_features": "\(message.features)",
                                  "required": "\(requiredFeatures)"])
    }
}
