import MonSyncCore
public import MonSyncStore

/// A service's change waiting for its Paxos commit on the leader.
struct ServiceProposal: Sendable {
    var id: UInt64
    var transaction: StoreTransaction
}

/// Proposals from services other than the key-value one (Ceph's `PaxosService::propose_pending`).
extension Monitor {
    /// Proposes `transaction` through Paxos and returns the version it was committed in.
    ///
    /// Only the leader proposes; every operation must touch a prefix a registered
    /// service owns (never the Paxos log). Changes queued together are committed
    /// in one version, as client writes are.
    ///
    /// - Throws: ``ProposalError``.
    public func propose(_ transaction: StoreTransaction) async throws(ProposalError) -> UInt64 {
        guard state == .leader else { throw .notLeader(leader: leader.flatMap { monmap.member(rank: $0) }) }
        guard !transaction.isEmpty else { throw .empty }
        for operation in transaction.operations {
            let owner = services.owner(of: operation.prefix)
            if owner == nil || operation.prefix == PaxosLog.prefix { throw .unownedPrefix(operation.prefix) }
        }
        nextServiceProposalID += 1
        let id = nextServiceProposalID
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<UInt64, ProposalError>, Never>) in
            serviceWaiters[id] = continuation
            pendingServiceProposals.append(ServiceProposal(id: id, transaction: transaction))
            if configuration.proposeInterval == .zero { proposeNextIfIdle() }
            else if paxos.proposal == nil && !timers.isArmed(.propose) { arm(.propose, after: configuration.proposeInterval) }
        }
        return try result.get()
    }

    /// Resolves the service proposals `ids` with `result`.
    func finishServiceProposals(_ ids: [UInt64], with result: Result<UInt64, ProposalError>) {
        for id in ids { serviceWaiters.removeValue(forKey: id)?.resume(returning: result) }
    }
}
