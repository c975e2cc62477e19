public import MonSyncMessages
/// Why a client helper gave up.
public enum MonitorClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No definite answer before the deadline; the last reply seen, if any. For a write, nothing was
    /// applied: every copy sent was refused before any proposal (NO_QUORUM, NOT_LEADER) or never sent.
    case timedOut(lastReply: MMonCommandReply?)
    /// A write got no definite answer before the deadline, and a copy of it may have been applied, or
    /// may still be. Resending it with the same client id and `tid` is safe: it is applied at most once.
    case outcomeUnknown(tid: UInt64, lastReply: MMonCommandReply?)
    /// A definite refusal (INVALID, FAILED, TOO_LARGE, or an unexpected result).
    case refused(MMonCommandReply)
    /// A request no monitor would serve (an empty key, a key or value over the limits), refused
    /// by the client before anything was sent.
    case invalidRequest(String)
    /// The waiting task was cancelled, or the client shut down.
    case cancelled

    public var description: String {
        switch self {
        case let .timedOut(reply): "no definite answer in time\(reply.map { "; last reply: \($0)" } ?? "")"
        case let .outcomeUnknown(tid, reply): "outcome of tid \(tid) unknown\(reply.map { "; last reply: \($0)" } ?? "")"
        case let .refused(reply): "refused: \(reply)"
        case let .invalidRequest(message): "invalid request: \(message)"
        case .cancelled: "cancelled"
        }
    }
}
