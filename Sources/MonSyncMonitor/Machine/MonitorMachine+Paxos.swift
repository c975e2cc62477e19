import MonSyncCore
import MonSyncMessages
import MonSyncStore

/// Single-Paxos as Ceph's `Paxos`: recovery (collect/last), replication (begin/accept/commit),
/// leases, and trim through Paxos.
extension MonitorMachine {
    // MARK: Entering and leaving the quorum

    /// Leader after a victory: recover, then serve (Ceph's `leader_init`).
    mutating func leaderInit() {
        paxos.resetRound()
        lease.reset()
        if Set(quorum) != Set(monmap.ranks) && !mutations.contains(.readsWithoutLease) {
            // A monitor outside the new quorum may be the old leader, still serving reads under its
            // lease: acknowledge nothing until that lease has surely run out (``LeaseState``).
            lease.actsFrom = now + configuration.lease
        }
        collect(aboveProposalNumber: 0)
    }

    /// Peon after a victory: wait for the leader's collect and lease, with a timeout (Ceph's
    /// `peon_init`; the timeout is the fix for peons waiting forever, F14).
    mutating func peonInit() {
        paxos.resetRound()
        paxos.phase = .recovering
        arm(.leaseTimeout, after: configuration.leaseAckTimeout)
    }

    /// Leaves the quorum: answers every waiting write and forgets the round.
    ///
    /// Writes not yet proposed were never proposed and never will be (NO_QUORUM);
    /// a write in a value out for acceptance may still be committed by the next
    /// leader's recovery, so its client is told to resend with the same tid (RETRY),
    /// which the applied-tid record makes safe.
    mutating func leaveQuorum(reason: String) {
        if state == .leader {
            for write in pendingWrites {
                replyToWrite(write, result: .noQuorum, message: "not proposed: the leader lost its quorum (\(reason))")
            }
            for write in paxos.proposal?.writes ?? [] {
                replyToWrite(write, result: .retry, message: "in flight when the leader lost its quorum (\(reason)); resend with the same tid")
            }
            pendingWrites = []
            if let change = pendingMembershipChange {
                replyToWrite(change, result: .noQuorum, message: "not proposed: the leader lost its quorum (\(reason))")
                pendingMembershipChange = nil
            }
            finishServiceProposals(pendingServiceProposals.map(\.id), with: .failure(.noQuorum))
            pendingServiceProposals = []
            finishServiceProposals(paxos.proposal?.serviceProposals ?? [], with: .failure(.outcomeUnknown))
        }
        if state == .leader { syncLeader.leadershipLost() }
        paxos.resetRound()
        lease.reset()
        quorum = []
        quorumFeatures = []
        leader = nil
    }

    // MARK: Recovery

    /// A proposal number above every one seen, unique to this rank (Ceph's `get_new_proposal_number`).
    private mutating func newProposalNumber(above floor: UInt64) -> UInt64 {
        // Received numbers are bounded on decode; a stored one is bounded here, so this never overflows.
        let base = min(max(paxos.lastPN, floor), WireDecoder.maximumPaxosNumber)
        let pn = (base / 100 + 1) * 100 + UInt64(rank)
        paxos.lastPN = pn
        return pn
    }

    private mutating func collect(aboveProposalNumber floor: UInt64) {
        paxos.phase = .recovering
        let pn = newProposalNumber(above: max(floor, paxos.acceptedPN))
        paxos.acceptedPN = pn
        var transaction = StoreTransaction()
        transaction.put(PaxosState.prefix, PaxosState.lastPNKey, uint64: paxos.lastPN)
        transaction.put(PaxosState.prefix, PaxosState.acceptedPNKey, uint64: pn)
        persist(transaction)
        paxos.lastReceived = [rank]
        paxos.peerLastCommitted = [:]
        do { paxos.uncommitted = try paxos.storedUncommitted(in: store) } catch {
            noteStoreFailure(error, during: "reading the uncommitted value")
            paxos.uncommitted = nil
        }
        sendCollect()
    }

    /// Asks every peon for what it has beyond our `last_committed` under the current number; sent
    /// again while a peon reports more than one LAST carried (``MonitorConfiguration/maxShareBytes``).
    private mutating func sendCollect() {
        logger.debug("collect", metadata: ["pn": "\(paxos.acceptedPN)", "lc": "\(paxos.lastCommitted)"])
        paxos.lastReceived = [rank]
        let message = MMonPaxos(op: .collect, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                                lastCommitted: paxos.lastCommitted, pn: paxos.acceptedPN)
        for peer in quorum where peer != rank { send(message, toRank: peer) }
        arm(.paxosRound, after: configuration.acceptTimeout)
        if paxos.lastReceived.count == quorum.count { finishRecovery() }
    }

    mutating func handlePaxos(_ message: MMonPaxos, from sender: TransportAddress) {
        guard let peer = monmap.rank(of: sender) else {
            statistics.impostorMessages += 1
            return
        }
        guard message.epoch == electionEpoch, quorum.contains(peer) else {
            return noteStale("\(message.op) e\(message.epoch) from \(peer) (epoch \(electionEpoch), quorum \(quorum))")
        }
        switch (state, message.op) {
        case (.peon, .collect) where peer == leader: handleCollect(message)
        case (.peon, .begin) where peer == leader: handleBegin(message)
        case (.peon, .commit) where peer == leader: handleCommit(message)
        case (.peon, .lease) where peer == leader: handleLease(message)
        case (.leader, .last): handleLast(message, from: peer)
        case (.leader, .accept): handleAccept(message, from: peer)
        case (.leader, .leaseAck): handleLeaseAck(message, from: peer)
        default: noteStale("\(message.op) from \(peer) while \(state)")
        }
    }

    private mutating func handleCollect(_ message: MMonPaxos) {
        if message.firstCommitted > paxos.lastCommitted + 1 {
            // The leader trimmed what we lack: recovery cannot help, only a sync can.
            return bootstrap(reason: "leader's first_committed \(message.firstCommitted) is beyond our last_committed \(paxos.lastCommitted) + 1")
        }
        paxos.phase = .recovering
        lease.peonLeaseUntil = nil
        if message.pn > paxos.acceptedPN {
            paxos.acceptedPN = message.pn
            var transaction = StoreTransaction()
            transaction.put(PaxosState.prefix, PaxosState.acceptedPNKey, uint64: message.pn)
            persist(transaction)
        }
        var values: [MMonPaxos.Value] = []
        var uncommittedPN: UInt64 = 0
        do {
            if message.lastCommitted < paxos.lastCommitted {
                // Share what the leader lacks.
                // One message's worth; a leader still behind afterwards is caught up by the next recovery.
                values = try loggedValues(from: max(message.lastCommitted + 1, paxos.firstCommitted))
            }
            if let uncommitted = try paxos.storedUncommitted(in: store) {
                values.append(MMonPaxos.Value(version: uncommitted.version, bytes: uncommitted.value))
                uncommittedPN = uncommitted.pn
            }
        } catch {
            noteStoreFailure(error, during: "answering collect")
            return bootstrap(reason: "store failure")
        }
        send(MMonPaxos(op: .last, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                       lastCommitted: paxos.lastCommitted, pn: paxos.acceptedPN, uncommittedPN: uncommittedPN,
                       values: values), toRank: leader!)
        arm(.leaseTimeout, after: configuration.leaseAckTimeout)
    }

    private mutating func handleLast(_ message: MMonPaxos, from peer: Int32) {
        guard paxos.phase == .recovering else { return noteStale("last from \(peer) while \(paxos.phase)") }
        if message.firstCommitted > paxos.lastCommitted + 1 {
            return bootstrap(reason: "mon.\(peer)'s first_committed \(message.firstCommitted) is beyond our last_committed \(paxos.lastCommitted) + 1")
        }
        // Accept what the peon committed that we lack.
        guard storeCommitted(message.values, upTo: message.lastCommitted) else { return }
        if message.pn > paxos.acceptedPN {
            // The peon promised a higher number to someone: start over above it.
            return collect(aboveProposalNumber: message.pn)
        }
        guard message.pn == paxos.acceptedPN else { return noteStale("last with old pn \(message.pn) from \(peer)") }
        paxos.lastReceived.insert(peer)
        paxos.peerLastCommitted[peer] = message.lastCommitted
        if let current = paxos.uncommitted, current.version <= paxos.lastCommitted { paxos.uncommitted = nil }
        if message.uncommittedPN != 0, let value = message.value(for: message.lastCommitted + 1),
           value.version == paxos.lastCommitted + 1,
           paxos.uncommitted.map({ message.uncommittedPN > $0.pn }) ?? true {
            paxos.uncommitted = PaxosState.Uncommitted(version: value.version, pn: message.uncommittedPN, value: Array(value.bytes))
        }
        if paxos.lastReceived.count == quorum.count { finishRecovery() }
    }

    /// Leader: the change that makes the cluster require the features every member of the monmap
    /// supports and it does not require yet, if there are any — only when the quorum is the whole
    /// map (Ceph's monmap persistent features). It rides in the next proposal of writes, as Ceph's
    /// services' pending changes share one Paxos proposal: a cluster that writes nothing has
    /// nothing to gate.
    private func requiredFeaturesChange() -> StoreTransaction? {
        // Bit operations first: on every proposal but one, nothing is newly common.
        let newlyCommon = quorumFeatures.intersection(.supported).subtracting(requiredFeatures)
        guard !newlyCommon.isEmpty, Set(quorum) == Set(monmap.ranks) else { return nil }
        let required = requiredFeatures.union(newlyCommon)
        logger.notice("every monitor supports new features: requiring them", metadata: [
            "features": "\(newlyCommon)", "required": "\(required)"])
        return monmapService.transaction(requiring: required)
    }

    private mutating func finishRecovery() {
        if let highest = paxos.peerLastCommitted.values.max(), highest > paxos.lastCommitted {
            // A peon committed more than its LAST could carry: ask again from where we are now. The
            // leader must hold every committed version before it serves reads or proposes.
            logger.debug("recovery continues", metadata: ["lc": "\(paxos.lastCommitted)", "peon_lc": "\(highest)"])
            paxos.peerLastCommitted = [:]
            return sendCollect()
        }
        cancel(.paxosRound)
        statistics.recoveries += 1
        // Bring every peon that is behind up to date, one bounded COMMIT after another.
        for peer in quorum where peer != rank {
            let peerLast = paxos.peerLastCommitted[peer] ?? 0
            guard peerLast < paxos.lastCommitted else { continue }
            var next = max(peerLast + 1, paxos.firstCommitted)
            var shared = 0
            while next <= paxos.lastCommitted {
                let values: [MMonPaxos.Value]
                do { values = try loggedValues(from: next) } catch {
                    noteStoreFailure(error, during: "sharing state")
                    return bootstrap(reason: "store failure")
                }
                guard let last = values.last?.version else { break }
                send(MMonPaxos(op: .commit, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                               lastCommitted: last, values: values), toRank: peer)
                shared += values.count
                next = last + 1
            }
            statistics.versionsShared += shared
            logger.info("shared versions with a peon that was behind", metadata: [
                "peer": "\(peer)", "peer_lc": "\(peerLast)", "versions": "\(shared)",
            ])
        }
        logger.info("recovery done", metadata: ["fc": "\(paxos.firstCommitted)", "lc": "\(paxos.lastCommitted)",
                                                "uncommitted": "\(paxos.uncommitted.map { "v\($0.version)" } ?? "none")"])
        if let uncommitted = paxos.uncommitted, uncommitted.version == paxos.lastCommitted + 1 {
            // A value some member accepted may have been committed by the old leader: propose it again.
            paxos.uncommitted = nil
            paxos.phase = .updatingPrevious
            begin(uncommitted.value, writes: [], isTrim: false)
        } else {
            paxos.uncommitted = nil
            paxos.phase = .active
            extendLease()
            proposeNextIfIdle()
        }
    }

    // MARK: Replication

    mutating func begin(_ value: [UInt8], writes: [PendingWrite], serviceProposals: [UInt64] = [], isTrim: Bool) {
        let version = paxos.lastCommitted + 1
        var transaction = StoreTransaction()
        transaction.put(PaxosState.prefix, PaxosState.pendingValueKey, value)
        transaction.put(PaxosState.prefix, PaxosState.pendingVersionKey, uint64: version)
        transaction.put(PaxosState.prefix, PaxosState.pendingPNKey, uint64: paxos.acceptedPN)
        persist(transaction)
        if paxos.phase != .updatingPrevious { paxos.phase = .updating }
        paxos.proposal = PaxosState.Proposal(version: version, value: value, accepted: [rank], writes: writes,
                                             serviceProposals: serviceProposals, isTrim: isTrim, beganAt: now)
        let message = MMonPaxos(op: .begin, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                                lastCommitted: paxos.lastCommitted, pn: paxos.acceptedPN,
                                values: [MMonPaxos.Value(version: version, bytes: value)])
        for peer in quorum where peer != rank { sendAhead(message, toRank: peer) }
        arm(.paxosRound, after: configuration.acceptTimeout)
        if acceptsNeeded(for: value) <= 1 { commitProposal() }
    }

    /// How many accepts (the leader's own included) commit `value`: a majority of the map in force.
    private func acceptsNeeded(for value: [UInt8]) -> Int {
        if mutations.contains(.commitOnFirstAccept) { return min(2, monmap.majority) }
        if mutations.contains(.changeCommitsUnderNewMap), let transaction = try? StoreTransaction(decoding: value),
           let next = monmapService.committedMap(in: transaction) {
            return next.majority
        }
        return monmap.majority
    }

    private mutating func handleBegin(_ message: MMonPaxos) {
        guard message.pn >= paxos.acceptedPN else { return noteStale("begin with pn \(message.pn) below our promise \(paxos.acceptedPN)") }
        guard message.lastCommitted == paxos.lastCommitted, let value = message.values.first else {
            return bootstrap(reason: "begin follows v\(message.lastCommitted) but we are at v\(paxos.lastCommitted)")
        }
        var transaction = StoreTransaction()
        if message.pn != paxos.acceptedPN {
            paxos.acceptedPN = message.pn
            transaction.put(PaxosState.prefix, PaxosState.acceptedPNKey, uint64: message.pn)
        }
        transaction.put(PaxosState.prefix, PaxosState.pendingValueKey, value.bytes)
        transaction.put(PaxosState.prefix, PaxosState.pendingVersionKey, uint64: value.version)
        transaction.put(PaxosState.prefix, PaxosState.pendingPNKey, uint64: message.pn)
        persist(transaction)
        paxos.phase = .updating
        lease.peonLeaseUntil = nil
        let accept = MMonPaxos(op: .accept, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                               lastCommitted: paxos.lastCommitted, pn: message.pn)
        if mutations.contains(.acceptAhead) { sendAhead(accept, toRank: leader!) } else { send(accept, toRank: leader!) }
    }

    private mutating func handleAccept(_ message: MMonPaxos, from peer: Int32) {
        guard var proposal = paxos.proposal, message.pn == paxos.acceptedPN,
              message.lastCommitted + 1 == proposal.version else { return noteStale("accept from \(peer) for no current round") }
        proposal.accepted.insert(peer)
        paxos.proposal = proposal
        if proposal.accepted.count >= acceptsNeeded(for: proposal.value) { commitProposal() }
    }

    private mutating func commitProposal() {
        guard let proposal = paxos.proposal else { return }
        if recordsCommits {
            commitRecords.append(CommitRecord(version: proposal.version, value: proposal.value,
                                              acceptedBy: proposal.accepted.sorted().compactMap { monmap.member(rank: $0)?.name },
                                              monmapEpoch: monmap.epoch, electionEpoch: electionEpoch))
        }
        cancel(.paxosRound)
        paxos.proposal = nil
        paxos.lastRoundTrimmed = proposal.isTrim
        guard commitVersion(proposal.version, value: proposal.value) else {
            for write in proposal.writes { replyToWrite(write, result: .retry, message: "the leader's store failed at commit; resend with the same tid") }
            finishServiceProposals(proposal.serviceProposals, with: .failure(.outcomeUnknown))
            return bootstrap(reason: "store failure at commit")
        }
        let message = MMonPaxos(op: .commit, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                                lastCommitted: paxos.lastCommitted,
                                values: [MMonPaxos.Value(version: proposal.version, bytes: proposal.value)])
        for peer in quorum where peer != rank { sendAhead(message, toRank: peer) }
        noteCommitDuration(now - proposal.beganAt)
        statistics.writesCommitted += proposal.writes.count
        for write in proposal.writes { replyToWrite(write, result: .ok, version: proposal.version) }
        finishServiceProposals(proposal.serviceProposals, with: .success(proposal.version))
        paxos.phase = .active
        extendLease()
        proposeNextIfIdle()
    }

    private mutating func handleCommit(_ message: MMonPaxos) {
        guard storeCommitted(message.values, upTo: message.lastCommitted) else { return }
        if paxos.lastCommitted < message.lastCommitted {
            return bootstrap(reason: "commit up to v\(message.lastCommitted) leaves a gap after our v\(paxos.lastCommitted)")
        }
        if paxos.phase == .updating { paxos.phase = .active }
    }

    /// Consecutive retained versions from `first` on, as many as fit in
    /// ``MonitorConfiguration/maxShareBytes`` (at least one), so a share never outgrows a frame.
    private mutating func loggedValues(from first: UInt64) throws(StoreError) -> [MMonPaxos.Value] {
        var values: [MMonPaxos.Value] = []
        var bytes = 0
        var version = first
        while version <= paxos.lastCommitted {
            guard let value = try store.get(PaxosLog.prefix, PaxosLog.key(for: version)) else { break }
            if !values.isEmpty && bytes + value.count > configuration.maxShareBytes { break }
            values.append(MMonPaxos.Value(version: version, bytes: value))
            bytes += value.count + 12
            version += 1
        }
        return values
    }

    /// Commits the consecutive versions of `values` above our `last_committed`, up to `limit`.
    /// Returns `false` (after bootstrapping) when the store fails.
    private mutating func storeCommitted(_ values: [MMonPaxos.Value], upTo limit: UInt64) -> Bool {
        for value in values where value.version > paxos.lastCommitted && value.version <= limit {
            guard value.version == paxos.lastCommitted + 1 else { break }
            guard commitVersion(value.version, value: Array(value.bytes)) else {
                bootstrap(reason: "store failure while committing v\(value.version)")
                return false
            }
        }
        return true
    }

    /// Writes `paxos/<v>`, moves `last_committed` and applies the value, in one atomic write.
    private mutating func commitVersion(_ version: UInt64, value: [UInt8]) -> Bool {
        do {
            let decoded = try StoreTransaction(decoding: value)
            noteCommitted(decoded)
            var transaction = Self.keepingFirstCommitted(atLeast: paxos.firstCommitted,
                                                         try log.commitTransaction(version: version, decoded))
            transaction.erase(PaxosState.prefix, PaxosState.pendingVersionKey)
            transaction.erase(PaxosState.prefix, PaxosState.pendingPNKey)
            transaction.erase(PaxosState.prefix, PaxosState.pendingValueKey)
            persist(transaction)
            paxos.firstCommitted = try log.firstCommitted()
            paxos.lastCommitted = try log.lastCommitted()
        } catch {
            noteStoreFailure(error, during: "committing v\(version)")
            return false
        }
        statistics.commits += 1
        return true
    }

    /// `transaction` with every put of `paxos/first_committed` below `floor` raised to `floor`.
    ///
    /// A trim only ever moves `first_committed` up; a member whose log already starts later
    /// (it was synced from a provider that had trimmed further) keeps its own, instead of
    /// claiming versions it does not hold. The committed value itself is unchanged.
    static func keepingFirstCommitted(atLeast floor: UInt64, _ transaction: StoreTransaction) -> StoreTransaction {
        guard floor > 0 else { return transaction }
        let floorBytes = withUnsafeBytes(of: floor.littleEndian) { Array($0) }
        return StoreTransaction(transaction.operations.map { operation in
            guard case let .put(prefix, key, value) = operation, prefix == PaxosLog.prefix, key == PaxosLog.firstCommittedKey,
                  value.count == 8 else { return operation }
            let proposed = value.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            return proposed < floor ? .put(prefix: prefix, key: key, value: floorBytes[...]) : operation
        })
    }

    /// Keeps a commit's latency for the shell to record (``takeCommitDurations()``); bounded, since
    /// a machine run without a shell that drains it (the simulator) must not grow without end.
    private mutating func noteCommitDuration(_ duration: Duration) {
        if commitDurations.count >= Self.commitDurationsKept { commitDurations.removeFirst() }
        commitDurations.append(duration)
    }

    /// The latencies of the rounds this leader committed since the last call, oldest first.
    public mutating func takeCommitDurations() -> [Duration] {
        defer { commitDurations.removeAll(keepingCapacity: true) }
        return commitDurations
    }

    // MARK: Lease

    /// Leader: starts a lease round — the peons' lease is extended, and the leader's own read
    /// lease once a majority acks this round (Ceph's `extend_lease`; see ``LeaseState``).
    mutating func extendLease() {
        guard state == .leader, paxos.phase == .active else { return }
        statistics.leaseRenewals += 1
        lease.round += 1
        lease.rounds[lease.round] = LeaseState.Round(sentAt: now, acked: [rank])
        if lease.round > LeaseState.roundsKept { lease.rounds[lease.round - LeaseState.roundsKept] = nil }
        let message = MMonPaxos(op: .lease, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                                lastCommitted: paxos.lastCommitted, pn: lease.round,
                                leaseMilliseconds: UInt64(max(1, configuration.lease.milliseconds)))
        for peer in quorum where peer != rank { sendAhead(message, toRank: peer) }
        noteLeaseAcked(round: lease.round)
        if quorum.count > 1 && !isArmed(.leaseAck) {
            lease.acked = [rank]
            arm(.leaseAck, after: configuration.leaseAckTimeout)
        }
        arm(.leaseRenew, after: configuration.leaseRenewInterval)
    }

    private mutating func handleLease(_ message: MMonPaxos) {
        guard message.lastCommitted == paxos.lastCommitted else {
            // We missed a commit: do not ack; the leader's lease-ack timeout starts a new recovery.
            return noteStale("lease at v\(message.lastCommitted) while we are at v\(paxos.lastCommitted)")
        }
        paxos.phase = .active
        electionBackoff = 0  // a lease: the quorum works
        lease.peonLeaseUntil = now + .milliseconds(Int64(clamping: message.leaseMilliseconds))
        send(MMonPaxos(op: .leaseAck, epoch: electionEpoch, firstCommitted: paxos.firstCommitted,
                       lastCommitted: paxos.lastCommitted, pn: message.pn), toRank: leader!)
        arm(.leaseTimeout, after: configuration.leaseAckTimeout)
    }

    private mutating func handleLeaseAck(_ message: MMonPaxos, from peer: Int32) {
        // Any ack shows the peon alive; only acks of a remembered round extend the read lease.
        lease.acked.insert(peer)
        if lease.acked.isSuperset(of: quorum) { cancel(.leaseAck) }
        guard lease.rounds[message.pn] != nil else { return noteStale("lease ack of round \(message.pn), now \(lease.round)") }
        lease.rounds[message.pn]!.acked.insert(peer)
        noteLeaseAcked(round: message.pn)
    }

    /// Extends the leader's read lease when `round` has acks from a majority of the monmap: each of
    /// them promised from no earlier than when `round` was sent.
    private mutating func noteLeaseAcked(round number: UInt64) {
        guard let round = lease.rounds[number], round.acked.count >= monmap.majority else { return }
        electionBackoff = 0  // a majority acked: the quorum works
        let margin = 1 - 2 * max(0, min(configuration.leaseClockSkew, 0.25))
        let until = round.sentAt + configuration.lease * margin
        lease.readableUntil = max(lease.readableUntil ?? until, until)
    }

    /// Whether this monitor may answer reads from its own store now: only the leader, recovered,
    /// past the old leader's lease, inside a lease a majority acked.
    var isReadable: Bool { isReadable(at: now) }

    /// Whether this monitor may answer reads from its own store at the monitor's time `time`:
    /// only the leader, recovered, past the old leader's lease, inside a lease a majority acked.
    public func isReadable(at time: Duration) -> Bool {
        if mutations.contains(.peonReadsUnderLease), state == .peon, paxos.phase == .active {
            return lease.peonLeaseUntil.map { time < $0 } ?? false
        }
        guard state == .leader, paxos.phase == .active || paxos.phase == .updating, time >= lease.actsFrom else { return false }
        if monmap.majority <= 1 || mutations.contains(.readsWithoutLease) { return true }
        return lease.readableUntil.map { time < $0 } ?? false
    }

    /// Whether the leader may acknowledge writes (propose, answer a resent write as applied).
    var isWritable: Bool {
        state == .leader && paxos.phase == .active && now >= lease.actsFrom
    }

    // MARK: Proposals

    /// Leader: proposes the next value if no round is in flight: a due trim first, then the queued
    /// writes — but never two trims in a row while writes wait. A sync's trim hold releases many
    /// trims at once (`paxosTrimMax` versions each); proposed back to back, they held every write
    /// that queued meanwhile for all of them (170 ms of write p99 as a synced monitor rejoined;
    /// BENCHMARKS.md, "The cluster while it syncs").
    mutating func proposeNextIfIdle() {
        // After a monmap change commits, nothing more is proposed under the old map: the leader
        // adopts the new one at the end of the step and is elected again under it.
        guard state == .leader, paxos.phase == .active, paxos.proposal == nil, monmapToAdopt == nil else { return }
        if now < lease.actsFrom {
            // A new leader waits out the old one's lease before it makes anything new visible.
            if !isArmed(.propose) { arm(.propose, at: lease.actsFrom) }
            return
        }
        if !(paxos.lastRoundTrimmed && !pendingWrites.isEmpty), let target = syncAwareTrimTarget() {
            do {
                let trim = try log.trimTransaction(to: target)
                statistics.trimsProposed += 1
                logger.info("trimming", metadata: ["from": "\(paxos.firstCommitted)", "to": "\(target)", "lc": "\(paxos.lastCommitted)"])
                return begin(trim.encoded(), writes: [], isTrim: true)
            } catch {
                noteStoreFailure(error, during: "building a trim")
            }
        }
        if proposeMembershipChange() { return }
        guard !pendingWrites.isEmpty || !pendingServiceProposals.isEmpty else { return }
        cancel(.propose)
        var writes: [PendingWrite] = []
        let proposals = pendingServiceProposals
        do {
            // Check again now: a write queued while we recovered may have been committed since,
            // inside an uncommitted value recovery re-proposed (it was in flight under the old leader).
            // One read of each client's record for the whole batch (a client may have hundreds of writes in it).
            var records: [UInt64: AppliedTids] = [:]
            for write in pendingWrites {
                let client = write.command.clientID
                let record: AppliedTids
                if let known = records[client] {
                    record = known
                } else {
                    record = try keyValue.appliedRecord(clientID: client, in: store)
                    records[client] = record
                }
                if KeyValueService.state(ofTid: write.command.tid, in: record) == .applied {
                    replyToWrite(write, result: .ok, message: "already applied")
                } else {
                    writes.append(write)
                }
            }
        } catch {
            noteStoreFailure(error, during: "checking applied tids")
            writes = pendingWrites
        }
        pendingWrites = []
        pendingServiceProposals = []
        guard !writes.isEmpty || !proposals.isEmpty else { return }
        do {
            // Services' changes first, then the client writes with their applied-tid records (in
            // the form required so far: features required here apply from the next proposal on).
            var transaction = StoreTransaction()
            if let features = requiredFeaturesChange() { transaction.append(features) }
            for proposal in proposals { transaction.append(proposal.transaction) }
            transaction.append(try keyValue.transaction(applying: writes.map(\.command), in: store))
            begin(transaction.encoded(), writes: writes, serviceProposals: proposals.map(\.id), isTrim: false)
        } catch {
            noteStoreFailure(error, during: "building a proposal")
            for write in writes { replyToWrite(write, result: .failed, message: "store failure: \(error); nothing was proposed") }
            finishServiceProposals(proposals.map(\.id), with: .failure(.store(error)))
        }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
