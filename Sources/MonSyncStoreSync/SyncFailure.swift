import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// Why a requester's sync ended without a copy. Live data is untouched in every case.
public enum SyncFailure: Error, Sendable, CustomStringConvertible {
    /// Providers failed more often than ``SyncConfiguration/maxProviderSwitches`` allows.
    case tooManyProviderSwitches(lastReason: String)
    /// The store refused a staging operation.
    case store(StoreError)
    /// A version needed to roll the copy forward never arrived.
    case missingVersion(UInt64)
    /// The leader never granted the sync (RETRY, no answer, or no leader) in the allowed attempts.
    case notGranted(attempts: Int, lastReason: String)
    /// The leader aborted the sync (it must trim past what the sync needs).
    case abortedByLeader(SyncAbortReason)
    /// The sync was cancelled (shutdown, or the monitor changed its mind before swapping).
    case cancelled

    public var description: String {
        switch self {
        case let .tooManyProviderSwitches(reason): "gave up after too many provider switches (last: \(reason))"
        case let .store(error): "store: \(error)"
        case let .missingVersion(version): "Paxos version \(version) needed to roll the copy forward never arrived"
        case let .notGranted(attempts, reason): "the leader did not grant the sync after \(attempts) attempt(s) (last: \(reason))"
        case let .abortedByLeader(reason): "the leader aborted the sync: \(reason)"
        case .cancelled: "cancelled"
        }
    }
}

/// What a finished sync produced.
public struct SyncOutcome: Sendable, Hashable {
    /// The Paxos version the copy is consistent with (`last_committed` after the swap).
    public var version: UInt64
    /// The `first_committed` set after the swap.
    public var firstCommitted: UInt64
    /// The final progress figures.
    public var progress: SyncProgress
}
