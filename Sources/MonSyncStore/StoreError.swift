public import MonSyncCore

/// Why a store operation failed.
///
/// Every failure of the store is one of these cases: bad input is refused with a
/// typed error, never a trap.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A prefix was empty or contained a NUL byte (the separator of the physical key).
    case invalidPrefix(String)
    /// An operation needs a prefix that the store refuses to touch for it
    /// (for example, the protected ``StoreLayout/protectedPrefix`` as a sync target).
    case protectedPrefix(String)
    /// Stored or received bytes could not be decoded.
    case corrupt(DecodeError)
    /// A staging operation was called while no staging area is open in this process.
    case notStaging
    /// A staged operation named a prefix that is not one of the staging area's targets.
    case notAStagingTarget(String)
    /// A stored value had the wrong shape for what the caller asked (e.g. a version that is not 8 bytes).
    case malformedValue(prefix: String, key: String)
    /// The backend (RocksDB or the file system) reported an error.
    case backend(String)
    /// An argument was outside its allowed range.
    case invalidArgument(String)
    /// No snapshot session has this id (never opened, released, or expired).
    case unknownSession(UInt64)
    /// The session table is full.
    case tooManySessions(limit: Int)
    /// The store was closed (``MonitorStore/close()``): a call after the process began to stop.
    case closed

    /// A one-line explanation for logs.
    public var description: String {
        switch self {
        case let .invalidPrefix(prefix): "invalid prefix \(prefix.debugDescription): must be non-empty and contain no NUL"
        case let .protectedPrefix(prefix): "prefix \(prefix.debugDescription) is protected for this operation"
        case let .corrupt(error): "corrupt data: \(error)"
        case .notStaging: "no staging area is open"
        case let .notAStagingTarget(prefix): "prefix \(prefix.debugDescription) is not a target of the open staging area"
        case let .malformedValue(prefix, key): "value at \(prefix)/\(key) has an unexpected shape"
        case let .backend(message): "store backend error: \(message)"
        case let .invalidArgument(message): "invalid argument: \(message)"
        case let .unknownSession(id): "no snapshot session \(id)"
        case let .tooManySessions(limit): "too many snapshot sessions (limit \(limit))"
        case .closed: "the store is closed"
        }
    }
}
