import MonSyncCore
import MonSyncStore

/// The store as a monitor's machine sees it while the shell defers the persists of a run of
/// inputs (``Monitor``'s inbox): the real store, plus the transactions decided but not yet written.
///
/// The shell feeds several Paxos messages and client writes one after the other and writes what
/// their steps persisted as one synced write before any action that follows the first of them
/// (a peon's COMMIT of one version and BEGIN of the next cost one sync, not two). A later step of
/// the run must still read what an earlier one decided (the tids a commit applied, the version it
/// logged): reads go through this overlay, as ``StepStore`` does within one step. Only point
/// reads are overlaid; the shell writes the deferred transactions before feeding any input that
/// may take a snapshot (a LIST, a sync message), so ``snapshot(of:)`` never runs while any wait.
/// Every method but the reads passes straight through.
///
/// Snapshots are handed out as ``ReadAheadSnapshot``s on `reader`, so the sync provider's chunk
/// reads run off the monitor's executor; `chunksReady` is called when one it waited for is in.
final class DeferredWrites: MonitorStore {
    let base: any MonitorStore
    private let pending = LockedState<[StoreTransaction]>([])
    private let reader = SnapshotReader()
    private let chunksReady: @Sendable () -> Void

    init(base: any MonitorStore, chunksReady: @escaping @Sendable () -> Void = {}) {
        self.base = base
        self.chunksReady = chunksReady
    }

    /// Whether transactions wait to be written.
    var isEmpty: Bool { pending.withLock { $0.isEmpty } }

    /// Records `transaction` as decided, for the reads of the steps that follow.
    func hold(_ transaction: StoreTransaction) { pending.withLock { $0.append(transaction) } }

    /// Forgets the deferred transactions: the shell wrote them, or they failed and were never applied.
    func clear() { pending.withLock { $0.removeAll(keepingCapacity: true) } }

    func get(_ prefix: String, _ key: String) throws(StoreError) -> [UInt8]? {
        let overlaid = pending.withLock { $0.overlaidValue(prefix: prefix, key: key) }
        if let overlaid { return overlaid }
        return try base.get(prefix, key)
    }

    func exists(_ prefix: String, _ key: String) throws(StoreError) -> Bool { try get(prefix, key) != nil }

    func apply(_ transaction: StoreTransaction) throws(StoreError) { try base.apply(transaction) }

    func snapshot(of prefixes: [String]) throws(StoreError) -> any StoreSnapshot {
        // The shell never lets a snapshot see a store with deferred writes (see above); if it ever
        // did, the snapshot would miss decided state: refuse rather than answer from it.
        guard isEmpty else { throw .invalidArgument("a snapshot was asked while writes are deferred") }
        return ReadAheadSnapshot(base: try base.snapshot(of: prefixes), reader: reader, ready: chunksReady)
    }

    func beginStaging(targets: [String]) throws(StoreError) -> SyncMarker { try base.beginStaging(targets: targets) }
    func stage(_ chunk: StoreTransaction) throws(StoreError) { try base.stage(chunk) }
    func stage(encoded chunk: EncodedTransaction) throws(StoreError) -> Int { try base.stage(encoded: chunk) }
    func commitStaging(applying transaction: StoreTransaction) throws(StoreError) { try base.commitStaging(applying: transaction) }
    func abandonStaging() throws(StoreError) { try base.abandonStaging() }
    func close() -> Bool { base.close() }
    func usage() -> StoreUsage? { base.usage() }
}
