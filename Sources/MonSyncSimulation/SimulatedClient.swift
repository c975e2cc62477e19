import MonSyncCore
import MonSyncMessages
import MonSyncMonitor

/// A client of the simulated cluster: one operation at a time, resent with the same tid
/// (to the leader a reply names, else to another monitor) until it is answered or it gives up.
struct SimulatedClient {
    /// The operation in flight.
    struct Pending {
        /// Its index in the history.
        var operation: Int
        var command: MMonCommand
        var target: Int
        var deadline: UInt64
        /// Bumped on every send, so a stale resend tick is recognised.
        var attempt = 0
    }

    let index: Int
    let address: TransportAddress
    let clientID: UInt64
    var nextTid: UInt64 = 1
    var nextValue = 0
    var pending: Pending?
    /// The rank the last reply named as leader.
    var leaderHint: Int?
    /// The membership scenario's operator: it sends `mon add` and `mon remove`, not key-value operations.
    var isOperator = false
}
