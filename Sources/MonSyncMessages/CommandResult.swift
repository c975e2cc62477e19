import MonSyncCore

/// The outcome of a client command, as carried by ``MMonCommandReply``.
///
/// Refusals are explicit so a client always knows whether its write took
/// effect: ``ok`` means committed (or read); ``noQuorum``, ``notLeader`` and
/// ``invalid`` and ``tooLarge`` mean the write was not proposed and never will be;
/// ``retry`` means the leader lost its quorum while the write was in flight —
/// resend it with the same tid and it is applied at most once.
///
/// Codes are stable: a new outcome gets a new number, never an old one.
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
    /// The key or the value is longer than the protocol allows (``MMonCommand/maximumKeyLength``,
    /// ``MMonCommand/maximumValueLength``); nothing was proposed. Added after codes 0–6: a reader that
    /// predates it cannot decode the reply and drops it, as it dropped such a request before.
    case tooLarge = 7

    /// Whether the result settles the command, so resending it cannot change the answer
    /// (OK, NOT_FOUND, INVALID, FAILED, TOO_LARGE); the others ask the client to try again or elsewhere.
    public var isDefinite: Bool {
        switch self {
        case .ok, .notFound, .invalid, .failed, .tooLarge: true
        case .notLeader, .noQuorum, .retry: false
        }
    }

    public var description: String {
        switch self {
        case .ok: "ok"
        case .notFound: "not_found"
        case .notLeader: "not_leader"
        case .noQuorum: "no_quorum"
        case .retry: "retry"
        case .invalid: "invalid"
        case .failed: "failed"
        case .tooLarge: "too_large"
        }
    }
}
