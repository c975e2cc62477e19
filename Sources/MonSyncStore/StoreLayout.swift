import MonSyncCore
import MonSyncMessages

/// Names and rules of the store's key space.
///
/// The logical key is `(prefix, key)`; a backend orders keys by the bytes of
/// `prefix + 0x00 + key`, so a whole-space iteration runs prefix by prefix, then
/// key by key, as in Ceph's `MonitorDBStore`. That is why a prefix must not
/// contain NUL (and must not be empty, which is reserved for "the beginning").
public enum StoreLayout {
    /// The prefix that no wipe, staging or swap ever touches: it holds the sync
    /// marker, the last monmap and the `last_committed` floor (Ceph's `mon_sync`).
    public static let protectedPrefix = "mon_sync"
    /// Key of the durable in-sync marker under ``protectedPrefix``.
    public static let inSyncKey = "in_sync"
    /// Key of the latest monmap under ``protectedPrefix``.
    public static let latestMonmapKey = "latest_monmap"
    /// Key of the `last_committed` floor under ``protectedPrefix``: never sync from a peer below it.
    public static let lastCommittedFloorKey = "last_committed_floor"

    /// Throws unless `prefix` is non-empty and contains no NUL byte.
    public static func validatePrefix(_ prefix: String) throws(StoreError) {
        if prefix.isEmpty || prefix.utf8.contains(0) { throw .invalidPrefix(prefix) }
    }

    /// Validates sync target prefixes and returns them sorted bytewise without duplicates.
    ///
    /// - Throws: ``StoreError/invalidPrefix(_:)``, or ``StoreError/protectedPrefix(_:)``
    ///   when `forSync` is set and a target is ``protectedPrefix``.
    public static func normalizedPrefixes(_ prefixes: [String], forSync: Bool) throws(StoreError) -> [String] {
        for prefix in prefixes {
            try validatePrefix(prefix)
            if forSync && prefix == protectedPrefix { throw .protectedPrefix(prefix) }
        }
        return Set(prefixes).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Whether `candidate` is strictly after `position` in store order.
    static func isAfter(prefix: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, position: SyncKeyBytes) -> Bool {
        if !prefix.elementsEqual(position.prefix) { return position.prefix.lexicographicallyPrecedes(prefix) }
        return position.key.lexicographicallyPrecedes(key)
    }
}

/// A ``SyncKey`` as bytes, compared bytewise like the store.
struct SyncKeyBytes: Sendable {
    var prefix: [UInt8]
    var key: [UInt8]
    init(_ position: SyncKey) {
        prefix = Array(position.prefix.utf8)
        key = Array(position.key.utf8)
    }
}

/// `withUnsafeBytes` for a body that throws ``StoreError`` (the standard one rethrows untyped).
@inline(__always)
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(StoreError) -> R) throws(StoreError) -> R {
    let result: Result<R, StoreError> = bytes.withUnsafeBytes { raw in
        do throws(StoreError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// `withUnsafeBytes` over any contiguous collection, for a body that throws ``StoreError``.
@inline(__always)
func withBytes<R>(_ bytes: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws(StoreError) -> R) throws(StoreError) -> R {
    let result: Result<R, StoreError> = bytes.withUnsafeBytes { raw in
        do throws(StoreError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

extension StoreTransaction {
    /// Appends a put of the `last_committed` floor under the protected prefix
    /// (u64 little-endian): the node never syncs from a peer below it.
    public mutating func setLastCommittedFloor(_ version: UInt64) {
        put(StoreLayout.protectedPrefix, StoreLayout.lastCommittedFloorKey, uint64: version)
    }

    /// Appends a put of the latest monmap under the protected prefix, where no sync wipe reaches it.
    public mutating func setLatestMonmap<C: Collection<UInt8>>(_ monmap: C) {
        put(StoreLayout.protectedPrefix, StoreLayout.latestMonmapKey, monmap)
    }
}
