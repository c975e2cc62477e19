public import MonSyncMessages
/// Why a client helper gave up.
public enum MonitorClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No definite answer before the deadline; the last reply seen, if any.
    case timedOut(lastReply: MMonCommandReply?)
    /// A definite refusal (INVALID, FAILED, or an unexpected result).
    case refused(MMonCommandReply)
    /// The waiting task was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case let .timedOut(reply): "no definite answer in time\(reply.map { "; last reply: \($0)" } ?? "")"
        case let .refused(reply): "refused: \(reply)"
        case .cancelled: "cancelled"
        }
    }
}
