import MonSyncCore
import MonSyncMessages
import MonSyncMonitor
import MonSyncStoreSync

/// Something that happens at a moment of the simulation's global clock (nanoseconds).
struct SimulatedEvent: Comparable, Sendable {
    enum Kind: Sendable {
        /// A message for monitor `to`'s life `life` (a later life at another address does not receive it).
        case deliver(any WireMessage, from: TransportAddress, to: Int, life: Int)
        case timer(node: Int, MonitorTimer, generation: UInt64, incarnation: Int)
        case clientReply(client: Int, MMonCommandReply)
        /// The client starts its next operation (none pending), or — when `attempt` is still the
        /// pending operation's — resends it to another monitor (no answer in time) or gives up.
        case clientTick(client: Int, attempt: Int)
        /// The client resends its pending operation to its current target, if `attempt` is still current.
        case clientResend(client: Int, attempt: Int)
        case restart(rank: Int, incarnation: Int)
        /// Membership: the operator starts monitor `slot`, which the newest committed monmap names, with an empty store.
        case operatorStart(slot: Int)
        /// Membership: the operator stops monitor `slot` (life `life`), which the newest committed monmap no longer names.
        case operatorStop(slot: Int, life: Int)
        /// A failed sync's pause is over: the monitor probes again.
        case syncDone(rank: Int, incarnation: Int)
        /// A timer of monitor `node`'s sync requester.
        case syncTimer(node: Int, SyncRequesterMachine.Timer, generation: UInt64, incarnation: Int)
    }

    var time: UInt64
    var sequence: UInt64
    var kind: Kind

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.time, lhs.sequence) < (rhs.time, rhs.sequence) }
    static func == (lhs: Self, rhs: Self) -> Bool { lhs.time == rhs.time && lhs.sequence == rhs.sequence }
}
