import MonSyncCore
import MonSyncStore

/// The Paxos state of one monitor: the persistent numbers and the round in progress.
///
/// Persistent, under the local bookkeeping prefix `monitor`: `last_pn` (the
/// highest proposal number this monitor generated), `accepted_pn` (the highest
/// it promised), and an accepted value not yet committed (`pending_value`,
/// `pending_v`, `pending_pn`). Ceph keeps these beside the log in `paxos`; here
/// they are kept out of it on purpose: they are this acceptor's own promises,
/// which a store sync must never overwrite with another monitor's, and the
/// `paxos` prefix then holds exactly the committed log, so its digest is equal
/// on every member at the same version.
struct PaxosState: Sendable {
    enum Phase: Sendable, CustomStringConvertible {
        /// Not in a quorum.
        case idle
        /// Leader: collecting LASTs; peon: promised, waiting for the leader's first lease.
        case recovering
        /// Leader: re-proposing an uncommitted value found during recovery.
        case updatingPrevious
        /// Leader: a value is out for acceptance; peon: accepted a value, waiting for its commit.
        case updating
        /// Ready: the leader may propose (and serve reads under its lease).
        case active

        var description: String {
            switch self {
            case .idle: "idle"
            case .recovering: "recovering"
            case .updatingPrevious: "updating_previous"
            case .updating: "updating"
            case .active: "active"
            }
        }
    }

    /// An uncommitted value: the version it would become, and the number it was accepted under.
    struct Uncommitted: Sendable {
        var version: UInt64
        var pn: UInt64
        var value: [UInt8]
    }

    /// A value out for acceptance on the leader.
    struct Proposal: Sendable {
        var version: UInt64
        var value: [UInt8]
        var accepted: Set<Int32>
        var writes: [PendingWrite]
        /// The service proposals (ids) this value carries.
        var serviceProposals: [UInt64] = []
        var isTrim: Bool
        /// When the leader sent BEGIN (the machine's time): a commit's latency is measured from it.
        var beganAt: Duration = .zero

        /// Whether the value changes the monmap (a membership change is proposed alone).
        var isMembershipChange: Bool { writes.contains { $0.command.op.isMembershipChange } }
    }

    static let lastPNKey = "last_pn"
    static let acceptedPNKey = "accepted_pn"
    static let pendingVersionKey = "pending_v"
    static let pendingPNKey = "pending_pn"
    static let pendingValueKey = "pending_value"
    /// Where the keys above live.
    static let prefix = ServiceRegistry.bookkeepingPrefix

    var phase = Phase.idle
    /// Leader: whether the round committed last was a trim (the next one goes to waiting writes).
    var lastRoundTrimmed = false
    var firstCommitted: UInt64 = 0
    var lastCommitted: UInt64 = 0
    var lastPN: UInt64 = 0
    var acceptedPN: UInt64 = 0

    // Leader recovery.
    var lastReceived: Set<Int32> = []
    var peerLastCommitted: [Int32: UInt64] = [:]
    var uncommitted: Uncommitted?
    // Leader replication.
    var proposal: Proposal?

    /// Loads the persistent part from `store`.
    static func load(from store: any MonitorStore) throws(StoreError) -> PaxosState {
        var state = PaxosState()
        let log = PaxosLog(store: store)
        state.firstCommitted = try log.firstCommitted()
        state.lastCommitted = try log.lastCommitted()
        state.lastPN = try store.getUInt64(prefix, lastPNKey) ?? 0
        state.acceptedPN = try store.getUInt64(prefix, acceptedPNKey) ?? 0
        return state
    }

    /// The accepted, uncommitted value at `last_committed + 1`, if the store holds one.
    func storedUncommitted(in store: any MonitorStore) throws(StoreError) -> Uncommitted? {
        guard let version = try store.getUInt64(Self.prefix, Self.pendingVersionKey), version == lastCommitted + 1,
              let pn = try store.getUInt64(Self.prefix, Self.pendingPNKey),
              let value = try store.get(Self.prefix, Self.pendingValueKey) else { return nil }
        return Uncommitted(version: version, pn: pn, value: value)
    }

    /// Clears the round state on leaving a quorum.
    mutating func resetRound() {
        phase = .idle
        lastReceived = []
        peerLastCommitted = [:]
        uncommitted = nil
        proposal = nil
        lastRoundTrimmed = false
    }
}
