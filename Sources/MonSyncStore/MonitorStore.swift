import MonSyncCore

/// The monitor's key-value store: ordered `(prefix, key) -> bytes` with atomic transactions.
///
/// Two backends conform: ``InMemoryStore`` (tests, the all-in-one demo) and
/// ``RocksDBStore`` (durable, the default for a real node). Both pass one
/// behavioural suite.
///
/// Besides reads and atomic writes, a store supports what sync needs:
/// point-in-time snapshots over a set of prefixes (the provider's side), and a
/// staging area that receives chunks without touching live data and is swapped
/// in atomically at the end (the requester's side), guarded by a durable
/// in-sync marker. Every method is safe to call from any thread.
public protocol MonitorStore: AnyObject, Sendable {
    /// The value at `(prefix, key)`, or `nil` when absent.
    func get(_ prefix: String, _ key: String) throws(StoreError) -> [UInt8]?

    /// Whether `(prefix, key)` holds a value.
    func exists(_ prefix: String, _ key: String) throws(StoreError) -> Bool

    /// Applies every operation of `transaction` atomically and durably.
    ///
    /// Either all operations take effect or none; on a durable backend the write
    /// is synced before this returns.
    func apply(_ transaction: StoreTransaction) throws(StoreError)

    /// A consistent point-in-time view of `prefixes`: writes that land after it
    /// was taken are not seen by it. The view lives as long as the returned value.
    func snapshot(of prefixes: [String]) throws(StoreError) -> any StoreSnapshot

    /// Opens a fresh staging area for a sync of `targets` and writes the durable
    /// in-sync marker, discarding any earlier staging area (complete or not).
    ///
    /// - Throws: ``StoreError/protectedPrefix(_:)`` if a target is ``StoreLayout/protectedPrefix``.
    @discardableResult
    func beginStaging(targets: [String]) throws(StoreError) -> SyncMarker

    /// Applies a chunk's operations to the staging area; live data is untouched.
    ///
    /// Chunks normally carry sorted puts (what a provider sends); any operation
    /// on a target prefix is accepted.
    /// - Throws: ``StoreError/notStaging`` if no staging area is open in this process,
    ///   ``StoreError/notAStagingTarget(_:)`` if an operation names another prefix.
    func stage(_ chunk: StoreTransaction) throws(StoreError)

    /// Applies a chunk still in its encoding (a sync CHUNK's body) to the staging
    /// area, with the same checks and effect as decoding it and calling
    /// ``stage(_:)``: a chunk that does not decode, or names a prefix that is not
    /// a target, stages nothing. A store can stage it without building the
    /// transaction (``RocksDBStore`` does); the default decodes it.
    /// - Returns: the number of operations staged.
    @discardableResult
    func stage(encoded chunk: EncodedTransaction) throws(StoreError) -> Int

    /// Atomically replaces the live contents of every target prefix with the
    /// staged copy, applies `transaction` after it, and clears the in-sync marker.
    ///
    /// After this returns, the store holds exactly the staged data for the
    /// targets; prefixes that are not targets are unchanged.
    func commitStaging(applying transaction: StoreTransaction) throws(StoreError)

    /// Discards the staging area and clears the in-sync marker. Does nothing when there is none.
    func abandonStaging() throws(StoreError)

    /// Closes the store if nothing uses it any more (no call running, no snapshot open) and
    /// returns whether it is closed; every call afterwards throws ``StoreError/closed``. A process
    /// that stops calls it once everything that used the store has ended, and retries while it
    /// returns `false`. Idempotent. An in-memory store has nothing to close.
    func close() -> Bool

    /// How much disk the store takes and how much its filesystem has left, for health checks and
    /// metrics; `nil` when the store has no files (in memory). It reads the disk: call it now and
    /// then (a status request, a scrape), not on every write.
    func usage() -> StoreUsage?
}

extension MonitorStore {
    /// Nothing to close.
    public func close() -> Bool { true }

    /// A store without files has no disk usage.
    public func usage() -> StoreUsage? { nil }

    @discardableResult
    public func stage(encoded chunk: EncodedTransaction) throws(StoreError) -> Int {
        let transaction = try StoreTransaction(decoding: chunk.bytes)
        try stage(transaction)
        return transaction.count
    }

    /// The durable in-sync marker, if a sync started and neither committed nor was abandoned.
    ///
    /// A node that finds one at startup crashed mid-sync: its staging area is
    /// partial, so it must call ``abandonStaging()`` (or ``beginStaging(targets:)``)
    /// and start over. Live data is complete either way.
    public func syncMarker() throws(StoreError) -> SyncMarker? {
        guard let bytes = try get(StoreLayout.protectedPrefix, StoreLayout.inSyncKey) else { return nil }
        return try SyncMarker(decoding: bytes)
    }

    /// Commits the staging area with nothing else in the same write.
    public func commitStaging() throws(StoreError) { try commitStaging(applying: StoreTransaction()) }

    /// Sets `(prefix, key)` to `value` in a one-operation transaction.
    public func put<C: Collection<UInt8>>(_ prefix: String, _ key: String, _ value: C) throws(StoreError) {
        var transaction = StoreTransaction()
        transaction.put(prefix, key, value)
        try apply(transaction)
    }

    /// Removes `(prefix, key)` in a one-operation transaction.
    public func erase(_ prefix: String, _ key: String) throws(StoreError) {
        var transaction = StoreTransaction()
        transaction.erase(prefix, key)
        try apply(transaction)
    }

    /// Removes every key of `prefix` in a one-operation transaction.
    public func erasePrefix(_ prefix: String) throws(StoreError) {
        var transaction = StoreTransaction()
        transaction.erasePrefix(prefix)
        try apply(transaction)
    }

    /// The value at `(prefix, key)` read as a little-endian `u64`, or `nil` when absent.
    /// - Throws: ``StoreError/malformedValue(prefix:key:)`` unless the value is exactly 8 bytes.
    public func getUInt64(_ prefix: String, _ key: String) throws(StoreError) -> UInt64? {
        guard let bytes = try get(prefix, key) else { return nil }
        guard bytes.count == 8 else { throw .malformedValue(prefix: prefix, key: key) }
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        return value
    }

    /// The latest monmap kept under the protected prefix.
    public func latestMonmap() throws(StoreError) -> [UInt8]? {
        try get(StoreLayout.protectedPrefix, StoreLayout.latestMonmapKey)
    }

    /// The `last_committed` floor kept under the protected prefix (0 when never set).
    public func lastCommittedFloor() throws(StoreError) -> UInt64 {
        try getUInt64(StoreLayout.protectedPrefix, StoreLayout.lastCommittedFloorKey) ?? 0
    }
}

/// The durable in-sync marker: which prefixes a sync is staging, in which staging area.
public struct SyncMarker: Sendable, Hashable {
    /// The sync target prefixes, sorted bytewise.
    public var targets: [String]
    /// Identifies the staging area (a backend-assigned generation number).
    public var stagingID: UInt64

    /// Creates a marker.
    public init(targets: [String], stagingID: UInt64) {
        self.targets = targets
        self.stagingID = stagingID
    }

    /// The marker's encoding: a version-1 struct with the staging id (u64) and the target list.
    public func encoded() -> [UInt8] {
        var encoder = WireEncoder()
        encoder.encodeVersionedStruct(version: 1, compat: 1) { body in
            body.encode(stagingID)
            body.encodeList(targets) { $0.encode($1) }
        }
        return encoder.finish()
    }

    /// Decodes a marker written by ``encoded()``.
    public init(decoding bytes: [UInt8]) throws(StoreError) {
        var decoder = WireDecoder(bytes)
        do {
            self = try decoder.decodeVersionedStruct("sync marker", supportedVersion: 1) {
                (body: inout WireDecoder, _: UInt8) throws(DecodeError) -> SyncMarker in
                let id = try body.decodeUInt64()
                let targets = try body.decodeList(field: "sync marker targets", minimumElementSize: 4) {
                    (element: inout WireDecoder) throws(DecodeError) -> String in
                    try element.decodeString(field: "sync marker target")
                }
                return SyncMarker(targets: targets, stagingID: id)
            }
            try decoder.expectEnd()
        } catch {
            throw .corrupt(error)
        }
        for target in targets { try StoreLayout.validatePrefix(target) }
    }
}
