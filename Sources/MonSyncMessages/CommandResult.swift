import MonSyncCore

/// The outcome of a client command, as carried by ``MMonCommandReply``.
///
/// Refusals are explicit so a client always knows whether its write took
/// effect: ``ok`` means committed (or read); ``noQuorum``, ``notLeader`` and
/// ``invalid`` mean the write was not proposed and never will be;
/// ``retry`` means the leader lost its quorum while the write was in flight —
/// resend it with the same tid and it is applied at most once.
public enum CommandResult: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Done: the write is committed, or the read succeeded.
    case ok = 0
    /// GET: no such key.
    case notFound = 1
    /// The receiver is not the leader and will not forward (already forwarded); the reply names the leader if known.
    case notLeader = 2
    /// There is no quorum (probing, electing, synchronizing); nothing was proposed.
    case noQuorum = 3
    /// The outcome is not known yet: resend with the same tid (applied at most once).
    case retry = 4
    /// The command was malformed or not allowed.
    case invalid = 5
    /// The monitor failed (a store error); nothing was proposed.
    case failed = 6

    public var description: String {
        switch self {
        case .ok: "ok"
        case .notFound: "not_found"
        case .notLeader: "not_leader"
        case .noQuorum: "no_quorum"
        case .retry: "retry"
        case .invalid: "invalid"
        case .failed: "failed"
        }
    }
}
