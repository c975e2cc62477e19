import MonSyncCore
import MonSyncMessages

/// A client write waiting for its Paxos commit.
struct PendingWrite: Sendable {
    var command: MMonCommand
    /// Where the reply goes (the client, also for forwarded commands).
    var replyTo: TransportAddress
    /// Clients that resent the same write (same client id and tid) while it waited.
    var extraReplies: [TransportAddress] = []
}
