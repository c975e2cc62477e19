import MonSyncCore

/// Why a sync participant refused, aborted or could not serve, carried by MMonSync v2 (`reason`, u32).
///
/// A struct rather than an enum so that a reason code added by a newer peer
/// decodes (and logs) instead of failing the whole message.
public struct SyncAbortReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// No reason given (all ops but ABORT and refusing replies).
    public static let none = SyncAbortReason(rawValue: 0)
    /// The requester gave up (its own timeout, shutdown, or a restart of the sync).
    public static let requesterAborted = SyncAbortReason(rawValue: 1)
    /// The receiver is not the leader and cannot grant a sync.
    public static let notLeader = SyncAbortReason(rawValue: 2)
    /// The receiver serves as many syncs as it may; retry later (sent with RETRY).
    public static let busy = SyncAbortReason(rawValue: 3)
    /// The receiver cannot serve: it is syncing itself, or behind the requester's floor.
    public static let cannotServe = SyncAbortReason(rawValue: 4)
    /// The session is unknown or expired at the receiver.
    public static let unknownSession = SyncAbortReason(rawValue: 5)
    /// The leader must trim past what this sync needs; start over.
    public static let trimRequired = SyncAbortReason(rawValue: 6)
    /// The sender is shutting down.
    public static let shuttingDown = SyncAbortReason(rawValue: 7)
    /// The request was malformed for its state (e.g. resume from a version the provider no longer has).
    public static let invalidRequest = SyncAbortReason(rawValue: 8)
    /// Leadership changed; the sync must re-establish its trim hold.
    public static let leaderChanged = SyncAbortReason(rawValue: 9)
    /// The sender's authenticated key does not allow the request (a `read` or `write` key asking
    /// for a backup stream). Sent only to an authenticated sender, whose address its key proves.
    public static let permissionDenied = SyncAbortReason(rawValue: 10)

    private static let names: [UInt32: String] = [
        0: "none", 1: "requester_aborted", 2: "not_leader", 3: "busy", 4: "cannot_serve",
        5: "unknown_session", 6: "trim_required", 7: "shutting_down", 8: "invalid_request", 9: "leader_changed",
        10: "permission_denied",
    ]

    public var description: String { Self.names[rawValue] ?? "reason(\(rawValue))" }
}
