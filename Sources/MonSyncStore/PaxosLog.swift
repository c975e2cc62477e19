/// The Paxos log's layout in the store, as in Ceph's `Paxos`.
///
/// - `paxos/first_committed`, `paxos/last_committed`: u64 little-endian (Ceph's `encode(version_t)`);
/// - `paxos/<v>` (decimal): the encoded ``StoreTransaction`` committed as version `v`.
///
/// Committing version `v` writes `paxos/<v>`, moves `last_committed`, and
/// applies the transaction itself, all in one atomic store write. Trimming
/// erases a range of old versions and moves `first_committed`.
public struct PaxosLog: Sendable {
    /// The prefix of the log.
    public static let prefix = "paxos"
    /// Key of the first retained version.
    public static let firstCommittedKey = "first_committed"
    /// Key of the last committed version.
    public static let lastCommittedKey = "last_committed"

    /// The store the log lives in.
    public let store: any MonitorStore

    /// A view of the log kept in `store`.
    public init(store: any MonitorStore) { self.store = store }

    /// The key of version `version`: its decimal string (so keys sort lexically, as in Ceph).
    public static func key(for version: UInt64) -> String { String(version) }

    /// The first retained version, or 0 when the log is empty.
    public func firstCommitted() throws(StoreError) -> UInt64 {
        try store.getUInt64(Self.prefix, Self.firstCommittedKey) ?? 0
    }

    /// The last committed version, or 0 when nothing was committed.
    public func lastCommitted() throws(StoreError) -> UInt64 {
        try store.getUInt64(Self.prefix, Self.lastCommittedKey) ?? 0
    }

    /// The transaction committed as `version`, or `nil` if it is not retained.
    /// - Throws: ``StoreError/corrupt(_:)`` if the stored bytes do not decode.
    public func transaction(at version: UInt64) throws(StoreError) -> StoreTransaction? {
        guard let bytes = try store.get(Self.prefix, Self.key(for: version)) else { return nil }
        return try StoreTransaction(decoding: bytes)
    }

    /// The one transaction that commits `transaction` as `version`: the log
    /// entry, the bounds, and the transaction's own operations.
    ///
    /// - Throws: ``StoreError/invalidArgument(_:)`` unless `version` is
    ///   `last_committed + 1` (any version ≥ 1 on an empty log).
    public func commitTransaction(version: UInt64, _ transaction: StoreTransaction) throws(StoreError) -> StoreTransaction {
        let last = try lastCommitted()
        guard version >= 1, last == 0 || version == last + 1 else {
            throw .invalidArgument("cannot commit version \(version) after last_committed \(last)")
        }
        var commit = StoreTransaction()
        commit.put(Self.prefix, Self.key(for: version), transaction.encoded())
        commit.put(Self.prefix, Self.lastCommittedKey, uint64: version)
        if try firstCommitted() == 0 { commit.put(Self.prefix, Self.firstCommittedKey, uint64: version) }
        commit.append(transaction)
        return commit
    }

    /// Commits `transaction` as `version` in one atomic, durable write.
    public func commit(version: UInt64, _ transaction: StoreTransaction) throws(StoreError) {
        try store.apply(commitTransaction(version: version, transaction))
    }

    /// The transaction that erases versions `[first_committed, newFirst)` and sets `first_committed` to `newFirst`.
    ///
    /// - Throws: ``StoreError/invalidArgument(_:)`` unless
    ///   `first_committed <= newFirst <= last_committed`.
    public func trimTransaction(to newFirst: UInt64) throws(StoreError) -> StoreTransaction {
        let first = try firstCommitted()
        let last = try lastCommitted()
        guard first >= 1, newFirst >= first, newFirst <= last else {
            throw .invalidArgument("cannot trim to \(newFirst): retained versions are \(first)...\(last)")
        }
        var trim = StoreTransaction()
        for version in first..<newFirst { trim.erase(Self.prefix, Self.key(for: version)) }
        trim.put(Self.prefix, Self.firstCommittedKey, uint64: newFirst)
        return trim
    }

    /// Erases versions before `newFirst` in one atomic write.
    public func trim(to newFirst: UInt64) throws(StoreError) {
        try store.apply(trimTransaction(to: newFirst))
    }
}
