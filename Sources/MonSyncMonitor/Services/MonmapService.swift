import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// The monmap as a replicated service (Ceph's `MonmapMonitor`): the current map, committed through
/// Paxos, at `monmap/current`.
///
/// A membership change (`MMonCommand.Op.monAdd`, `MMonCommand.Op.monRemove`) is a Paxos value that writes the next epoch's map
/// here. Registering the service makes `monmap` a sync target, so a monitor that joins by store sync
/// receives the map with the data. Each monitor also keeps the map it follows under the store's
/// protected prefix (`StoreLayout.latestMonmapKey`), outside Paxos: that one is local,
/// survives a sync's swap, and may be ahead of its `monmap/current` when it learned a newer map from
/// a peer's probe reply before it caught up with the log.
public struct MonmapService: MonitorService {
    /// The prefix of the replicated map.
    public static let prefix = "monmap"
    /// The key of the current map under ``prefix``.
    public static let currentKey = "current"
    /// The key of the cluster's required `MonitorFeatures` under ``prefix`` (`u64`, absent: none).
    public static let featuresKey = "features"

    /// The service (stateless: the map is in the store).
    public init() {}

    /// `monmap`.
    public var name: String { "monmap" }
    /// ``prefix``.
    public var prefixes: [String] { [Self.prefix] }

    /// The map committed through Paxos, if any was.
    public func committed(in store: any MonitorStore) throws(StoreError) -> MonMap? {
        try Self.decode(store.get(Self.prefix, Self.currentKey))
    }

    /// The map this monitor last followed (the protected copy), if it kept one.
    public func followed(in store: any MonitorStore) throws(StoreError) -> MonMap? {
        try Self.decode(store.latestMonmap())
    }

    /// The newest of `configured`, the committed map and the followed one: the map a monitor
    /// starts with.
    public func newest(configured: MonMap, in store: any MonitorStore) throws(StoreError) -> MonMap {
        [try committed(in: store), try followed(in: store)].compactMap { $0 }
            .reduce(configured) { $1.epoch > $0.epoch ? $1 : $0 }
    }

    /// The Paxos transaction that makes `map` the current monmap.
    public func transaction(committing map: MonMap) -> StoreTransaction {
        var transaction = StoreTransaction()
        transaction.put(Self.prefix, Self.currentKey, map.encoded())
        return transaction
    }

    /// The features the cluster requires of every monitor taking part in an election: committed
    /// through Paxos once the whole monmap supported them, never dropped.
    public func requiredFeatures(in store: any MonitorStore) throws(StoreError) -> MonitorFeatures {
        MonitorFeatures(rawValue: try store.getUInt64(Self.prefix, Self.featuresKey) ?? 0)
    }

    /// The Paxos transaction that makes `features` the cluster's required features.
    public func transaction(requiring features: MonitorFeatures) -> StoreTransaction {
        var transaction = StoreTransaction()
        transaction.put(Self.prefix, Self.featuresKey, uint64: features.rawValue)
        return transaction
    }

    /// The required features a committed transaction sets, if it sets them.
    public func committedRequiredFeatures(in transaction: StoreTransaction) -> MonitorFeatures? {
        var found: MonitorFeatures?
        for operation in transaction.operations {
            if case let .put(prefix, key, value) = operation, prefix == Self.prefix, key == Self.featuresKey, value.count == 8 {
                var decoder = WireDecoder(Array(value))
                found = (try? decoder.decodeUInt64()).map(MonitorFeatures.init(rawValue:))
            }
        }
        return found
    }

    /// The map a committed transaction makes current, if it writes one.
    public func committedMap(in transaction: StoreTransaction) -> MonMap? {
        var found: MonMap?
        for operation in transaction.operations {
            if case let .put(prefix, key, value) = operation, prefix == Self.prefix, key == Self.currentKey,
               let map = try? MonMap(decoding: Array(value)) {
                found = map
            }
        }
        return found
    }

    private static func decode(_ bytes: [UInt8]?) throws(StoreError) -> MonMap? {
        guard let bytes else { return nil }
        do { return try MonMap(decoding: bytes) } catch { throw .corrupt(error) }
    }
}
