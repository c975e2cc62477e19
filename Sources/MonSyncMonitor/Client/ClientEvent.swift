import MonSyncCore
import MonSyncMessages

/// What wakes a waiting ``MonitorClient`` call: a reply, a failed send, or one of its timers.
///
/// Every source (the reply listener, send tasks, timer tasks) yields into one stream per call, so
/// the call handles them one at a time, in order, with no lock held.
enum ClientEvent: Sendable {
    /// A reply to one of the call's tids, from `sender`.
    case reply(MMonCommandReply, from: TransportAddress)
    /// A copy sent for `attempt` to `peer` could not be sent (it never left this process).
    case sendFailed(TransportAddress, attempt: Int)
    /// The timer of `attempt` fired.
    case attemptExpired(Int)
    /// The retry pause after `attempt` is over.
    case pauseOver(Int)
    /// The call's deadline passed.
    case deadline
}
