import MonSyncCore

/// The life cycle of a monitor, with Ceph's values (`STATE_PROBING` = 1 …).
///
/// A monitor starts ``probing``; from there it either joins an election
/// (``electing``), which ends with it as ``leader`` or ``peon``, or — when it
/// is oblivious — hands over to a store sync (``synchronizing``). Losing the
/// quorum (a lease that is not renewed, a missing lease ack, a failed Paxos
/// round) sends it back to ``probing``. A monitor the monmap no longer names
/// (``removed``) takes no further part.
public enum MonitorState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Looking for peers and their Paxos bounds.
    case probing = 1
    /// Oblivious: waiting for (or running) a full store sync.
    case synchronizing = 2
    /// Taking part in an election.
    case electing = 3
    /// Elected; runs Paxos for the quorum.
    case leader = 4
    /// A quorum member that follows the leader.
    case peon = 5
    /// Stopped.
    case shutdown = 6
    /// Removed from the monmap: it answers status, and takes part in nothing else.
    case removed = 7

    /// Whether the monitor is a member of a quorum.
    public var isInQuorum: Bool { self == .leader || self == .peon }

    public var description: String {
        switch self {
        case .probing: "probing"
        case .synchronizing: "synchronizing"
        case .electing: "electing"
        case .leader: "leader"
        case .peon: "peon"
        case .shutdown: "shutdown"
        case .removed: "removed"
        }
    }
}
