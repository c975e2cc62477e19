import MonSyncStore

/// A service's change waiting for its Paxos commit on the leader.
struct ServiceProposal: Sendable {
    var id: UInt64
    var transaction: StoreTransaction
}
