import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// Why a service's proposal was not committed.
public enum ProposalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// This monitor is not the leader; the leader (if known) can take it.
    case notLeader(leader: MonitorEntity?)
    /// The transaction touches a prefix no registered service owns (or the Paxos log itself).
    case unownedPrefix(String)
    /// The transaction has no operation.
    case empty
    /// The leader lost its quorum before proposing it: it was not and will not be committed.
    case noQuorum
    /// The leader lost its quorum while it was out for acceptance: the next leader may still commit it.
    case outcomeUnknown
    /// The leader's store failed.
    case store(StoreError)

    public var description: String {
        switch self {
        case let .notLeader(leader): "not the leader\(leader.map { "; the leader is \($0)" } ?? "")"
        case let .unownedPrefix(prefix): "no registered service owns prefix \(prefix)"
        case .empty: "empty transaction"
        case .noQuorum: "the leader lost its quorum; nothing was proposed"
        case .outcomeUnknown: "the leader lost its quorum while the proposal was in flight"
        case let .store(error): "\(error)"
        }
    }
}
