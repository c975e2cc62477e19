import MonSyncCore

/// A position in the store's key space: a `(prefix, key)` pair.
///
/// In MMonSync it is `last_key`, the last key a chunk carried; a requester
/// resumes a sync strictly after it. The empty key (both parts empty) means
/// "from the beginning".
public struct SyncKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The service's prefix (`paxos`, `kv`, …).
    public var prefix: String
    /// The key within the prefix.
    public var key: String

    /// The position of `key` under `prefix`.
    public init(prefix: String, key: String) {
        self.prefix = prefix
        self.key = key
    }

    /// The start of the key space.
    public static let beginning = SyncKey(prefix: "", key: "")

    /// Whether this is ``beginning``.
    public var isBeginning: Bool { prefix.isEmpty && key.isEmpty }

    /// Orders by prefix, then key, bytewise, as the store iterates.
    public static func < (lhs: SyncKey, rhs: SyncKey) -> Bool {
        if lhs.prefix != rhs.prefix { return lhs.prefix.utf8.lexicographicallyPrecedes(rhs.prefix.utf8) }
        return lhs.key.utf8.lexicographicallyPrecedes(rhs.key.utf8)
    }

    public var description: String { isBeginning ? "(beginning)" : "\(prefix)/\(key)" }
}
