import MonSyncCore
import MonSyncMessages
import CRocksDB
import Foundation

/// The durable store: an embedded RocksDB database in one directory.
///
/// Every ``apply(_:)`` is one RocksDB `WriteBatch` written with `sync = true`,
/// so after a crash (even `kill -9`) reopening gives exactly the state after
/// some whole number of committed transactions.
///
/// Staging uses per-prefix *generations* (see docs/STORE.md): staged chunks are
/// written under a fresh generation of each target prefix, invisible to live
/// reads; ``commitStaging(applying:)`` is one small synced write that flips each
/// target's active generation and drops the old one with a range tombstone, so
/// swapping in a 1 GB copy costs the same as swapping in 1 KB.
///
/// The database closes at ``close()`` (once nothing uses it), or else when the last reference
/// to the store (or to a snapshot of it) goes away.
public final class RocksDBStore: MonitorStore {
    /// How staged chunks reach the database.
    public enum BulkLoadMethod: Sendable, Hashable {
        /// Write each chunk as a `WriteBatch` (WAL + memtable), synced or not.
        /// Unsynced batches are made durable by a WAL sync before the swap.
        case writeBatch(synced: Bool)
        /// Stream sorted keys into SST files with RocksDB's `SstFileWriter` and
        /// ingest each file (`IngestExternalFile`, files moved, not copied) when it
        /// reaches ``Configuration/sstFileSize`` and before the swap; each file is
        /// synced and ingested in the background while the next is written. Out-of-order
        /// keys or erase operations close the current file first, so any chunk
        /// sequence stays correct; sorted streams (what a sync sends) never do.
        case sstIngest
    }

    /// Options for opening a store.
    public struct Configuration: Sendable, Hashable {
        /// How staged chunks are written. The default is the one the bulk-load
        /// benchmark measured fastest (BENCHMARKS.md, "Store bulk load").
        public var bulkLoad: BulkLoadMethod
        /// The size at which an SST file being staged is finished and ingested.
        public var sstFileSize: Int

        /// Creates a configuration.
        public init(bulkLoad: BulkLoadMethod = .sstIngest, sstFileSize: Int = 64 << 20) {
            self.bulkLoad = bulkLoad
            self.sstFileSize = max(1, sstFileSize)
        }
    }

    private struct LiveState {
        /// Active generation of each prefix that has one other than 0.
        var generations: [String: UInt64]
        var nextGeneration: UInt64

        func generation(_ prefix: String) -> UInt64 { generations[prefix] ?? 0 }
    }

    private let handle: RocksDBHandle
    private let configuration: Configuration
    /// Guards the generation map; held across every live write, so a snapshot
    /// (taken under it) sees a generation map that matches its data.
    private let live: LockedState<LiveState>
    /// The staging area open in this process; lock order is `staging`, then `live`.
    private let staging: LockedState<StagingLoader?>

    /// The directory of the database.
    public var path: String { handle.path }

    /// Opens (creating if needed) the store in directory `path`.
    ///
    /// A staging area left by a process that crashed mid-sync is not resumed:
    /// ``syncMarker()`` reports it, and ``abandonStaging()`` or
    /// ``beginStaging(targets:)`` discards it.
    /// - Throws: ``StoreError/backend(_:)`` if RocksDB cannot open the directory
    ///   (for example, another process holds it).
    public init(path: String, configuration: Configuration = Configuration()) throws(StoreError) {
        handle = try RocksDBHandle(path: path)
        self.configuration = configuration
        var generations: [String: UInt64] = [:]
        let iterator = rocksdb_create_iterator(handle.db, handle.read)!
        defer { rocksdb_iter_destroy(iterator) }
        let start = RocksDBKeys.generationKeysStart
        start.withUnsafeBytes { rocksdb_iter_seek(iterator, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let key = UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength)
            let value = UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength)
            guard key.starts(with: start) else { break }
            let prefix = String(decoding: key.dropFirst(start.count), as: UTF8.self)
            guard let generation = RocksDBKeys.decodeUInt64(Array(value)) else { throw .backend("corrupt generation entry for \(prefix)") }
            generations[prefix] = generation
            rocksdb_iter_next(iterator)
        }
        try RocksDBHandle.check { rocksdb_iter_get_error(iterator, $0) }
        var next: UInt64 = 1
        if let bytes = try handle.get(RocksDBKeys.nextGenerationKey) {
            guard let value = RocksDBKeys.decodeUInt64(bytes) else { throw .backend("corrupt next_generation entry") }
            next = value
        }
        live = LockedState(LiveState(generations: generations, nextGeneration: next))
        staging = LockedState(nil)
        // SST files of a staging area that never got ingested (a crash) are garbage.
        try? FileManager.default.removeItem(atPath: StagingLoader.directory(for: path))
    }

    // MARK: Live data

    /// The value at `(prefix, key)`, or `nil` when absent.
    public func get(_ prefix: String, _ key: String) throws(StoreError) -> [UInt8]? {
        try StoreLayout.validatePrefix(prefix)
        // Read under the lock so a concurrent swap cannot drop the generation we are reading.
        return try live.withLock { (state: inout LiveState) throws(StoreError) -> [UInt8]? in
            try handle.get(RocksDBKeys.dataKey(prefix, generation: state.generation(prefix), key: key))
        }
    }

    /// Whether `(prefix, key)` holds a value.
    public func exists(_ prefix: String, _ key: String) throws(StoreError) -> Bool {
        try get(prefix, key) != nil
    }

    /// Adds `transaction`'s operations to `batch`, addressing each prefix's generation in `state`.
    private static func add(_ transaction: StoreTransaction, to batch: borrowing WriteBatch, state: LiveState) {
        for operation in transaction.operations {
            switch operation {
            case let .put(prefix, key, value):
                batch.put(RocksDBKeys.dataKey(prefix, generation: state.generation(prefix), key: key), value)
            case let .erase(prefix, key):
                batch.delete(RocksDBKeys.dataKey(prefix, generation: state.generation(prefix), key: key))
            case let .erasePrefix(prefix):
                let generation = state.generation(prefix)
                batch.deleteRange(RocksDBKeys.rangeStart(prefix.utf8, generation: generation), RocksDBKeys.rangeEnd(prefix.utf8, generation: generation))
            }
        }
    }

    /// Applies every operation of `transaction` atomically and durably: one `WriteBatch` written with `sync = true`.
    public func apply(_ transaction: StoreTransaction) throws(StoreError) {
        try transaction.validate()
        let batch = WriteBatch()
        try live.withLock { (state: inout LiveState) throws(StoreError) in
            Self.add(transaction, to: batch, state: state)
            try handle.write(batch, synced: true)
        }
    }

    /// A point-in-time view of `prefixes` (a RocksDB snapshot plus each prefix's generation at that instant).
    public func snapshot(of prefixes: [String]) throws(StoreError) -> any StoreSnapshot {
        let targets = try StoreLayout.normalizedPrefixes(prefixes, forSync: false)
        return try live.withLock { (state) throws(StoreError) in
            try RocksDBSnapshot(handle: handle, prefixes: targets, generations: targets.map { state.generation($0) })
        }
    }

    /// Closes the database once no call runs and no snapshot is open (see ``MonitorStore/close()``).
    public func close() -> Bool { handle.close() }

    /// Compacts the whole store now, as Ceph's `ceph-monstore-tool compact` does: deleted entries
    /// (a trimmed Paxos log's) are dropped and the data rewritten, so the background compactions
    /// a store would otherwise owe — and run while it serves — are done here. Blocks until done;
    /// for offline tools (`monsync store load` compacts what it trimmed).
    public func compact() throws(StoreError) { try handle.compactAll() }

    /// The database directory's files and the room left on its filesystem.
    public func usage() -> StoreUsage? { StoreUsage.measure(directory: path) }

    // MARK: Staging

    /// Discards the staged data described by `marker` in `batch`.
    private static func discard(_ marker: SyncMarker, in batch: borrowing WriteBatch) {
        for target in marker.targets {
            batch.deleteRange(
                RocksDBKeys.rangeStart(target.utf8, generation: marker.stagingID),
                RocksDBKeys.rangeEnd(target.utf8, generation: marker.stagingID)
            )
        }
    }

    private static let markerKey = RocksDBKeys.dataKey(StoreLayout.protectedPrefix, generation: 0, key: StoreLayout.inSyncKey)

    /// Opens a fresh staging area for `targets` and writes the in-sync marker (one synced write).
    @discardableResult
    public func beginStaging(targets: [String]) throws(StoreError) -> SyncMarker {
        let targets = try StoreLayout.normalizedPrefixes(targets, forSync: true)
        guard !targets.isEmpty else { throw .invalidArgument("a sync needs at least one target prefix") }
        return try staging.withLock { (loader: inout StagingLoader?) throws(StoreError) -> SyncMarker in
            loader?.discardFiles()
            loader = nil
            let previous = try syncMarker()
            let marker = try live.withLock { (state: inout LiveState) throws(StoreError) -> SyncMarker in
                guard state.nextGeneration < UInt64.max - 1 else { throw .backend("generation numbers exhausted") }
                let marker = SyncMarker(targets: targets, stagingID: state.nextGeneration)
                let batch = WriteBatch()
                if let previous { Self.discard(previous, in: batch) }
                batch.put(RocksDBKeys.nextGenerationKey, RocksDBKeys.encode(state.nextGeneration + 1))
                batch.put(Self.markerKey, marker.encoded())
                try handle.write(batch, synced: true)
                state.nextGeneration += 1
                return marker
            }
            loader = try StagingLoader(handle: handle, marker: marker, configuration: configuration)
            return marker
        }
    }

    /// Applies a chunk to the staging area under its fresh generation, by ``Configuration/bulkLoad``.
    public func stage(_ chunk: StoreTransaction) throws(StoreError) {
        try chunk.validate()
        try staging.withLock { (loader: inout StagingLoader?) throws(StoreError) in
            guard let loader else { throw .notStaging }
            try loader.stage(chunk)
        }
    }

    /// Applies an encoded chunk to the staging area without building its transaction
    /// (no `String` per key): the requester's hot path.
    @discardableResult
    public func stage(encoded chunk: EncodedTransaction) throws(StoreError) -> Int {
        try staging.withLock { (loader: inout StagingLoader?) throws(StoreError) -> Int in
            guard let loader else { throw .notStaging }
            try loader.stage(chunk)
            return chunk.count
        }
    }

    /// Swaps the staged copy in for the targets, applies `transaction`, clears the marker: ingests what is pending, syncs the WAL, then flips generations in one small synced write.
    public func commitStaging(applying transaction: StoreTransaction) throws(StoreError) {
        try transaction.validate()
        try staging.withLock { (loader: inout StagingLoader?) throws(StoreError) in
            guard let open = loader else { throw .notStaging }
            // Everything staged must be durable before the pointer flip that makes it live.
            try open.finish()
            try handle.syncLog()
            let marker = open.marker
            try live.withLock { (state: inout LiveState) throws(StoreError) in
                let batch = WriteBatch()
                var swapped = state
                for target in marker.targets {
                    let old = state.generation(target)
                    batch.put(RocksDBKeys.generationKey(target), RocksDBKeys.encode(marker.stagingID))
                    batch.deleteRange(RocksDBKeys.rangeStart(target.utf8, generation: old), RocksDBKeys.rangeEnd(target.utf8, generation: old))
                    swapped.generations[target] = marker.stagingID
                }
                batch.delete(Self.markerKey)
                Self.add(transaction, to: batch, state: swapped)
                try handle.write(batch, synced: true)
                state = swapped
            }
            loader = nil
        }
    }

    /// Discards the staging area and clears the in-sync marker (range deletes of the staging generation, one synced write).
    public func abandonStaging() throws(StoreError) {
        try staging.withLock { (loader: inout StagingLoader?) throws(StoreError) in
            loader?.discardFiles()
            loader = nil
            guard let marker = try syncMarker() else { return }
            try live.withLock { (_: inout LiveState) throws(StoreError) in
                let batch = WriteBatch()
                Self.discard(marker, in: batch)
                batch.delete(Self.markerKey)
                try handle.write(batch, synced: true)
            }
        }
    }
}

/// A RocksDB snapshot with the generation of each prefix at the moment it was taken.
///
/// `@unchecked Sendable`: the snapshot and the read options pointing at it are
/// created in `init` and only read afterwards (RocksDB takes both by const
/// reference, and `DB::NewIterator` is thread-safe); the one mutable part, the
/// parked iterator, is behind a lock and used by one scan at a time (a scan
/// takes it out); everything is released in `deinit`, when no reference remains.
final class RocksDBSnapshot: StoreSnapshot, @unchecked Sendable {
    let prefixes: [String]
    private let generations: [UInt64]
    private let handle: RocksDBHandle
    private let snapshot: OpaquePointer
    private let readOptions: OpaquePointer
    /// The iterator of the last scan that stopped early, parked where it stopped.
    private let parked = LockedState<ParkedIterator?>(nil)

    /// An iterator positioned on the first entry after `lastKey` of prefix `prefixIndex`.
    ///
    /// A sync reads a snapshot chunk after chunk, each scan starting after the
    /// previous one's last key: continuing the same iterator saves a seek and,
    /// above all, keeps its read-ahead buffer instead of reading the same blocks again.
    private struct ParkedIterator {
        var iterator: OpaquePointer
        var prefixIndex: Int
        var lastKey: [UInt8]
    }

    init(handle: RocksDBHandle, prefixes: [String], generations: [UInt64]) throws(StoreError) {
        try handle.snapshotOpened()
        self.handle = handle
        self.prefixes = prefixes
        self.generations = generations
        snapshot = rocksdb_create_snapshot(handle.db)!
        readOptions = rocksdb_readoptions_create()!
        rocksdb_readoptions_set_snapshot(readOptions, snapshot)
        // A sync reads the whole store once: do not evict the hot working set for it.
        rocksdb_readoptions_set_fill_cache(readOptions, 0)
        // Snapshot scans are long sequential reads: read ahead in large blocks.
        rocksdb_readoptions_set_readahead_size(readOptions, 2 << 20)
    }

    /// The on-disk size of the prefixes' ranges in this snapshot's generations (memtables
    /// not counted: a monitor's recent writes are small next to what a full sync copies).
    var estimatedSize: UInt64 {
        let ranges = prefixes.indices.map { index in
            (RocksDBKeys.rangeStart(prefixes[index].utf8, generation: generations[index]),
             RocksDBKeys.rangeEnd(prefixes[index].utf8, generation: generations[index]))
        }
        guard !ranges.isEmpty else { return 0 }
        let starts = ranges.map { start, _ in start.withUnsafeBytes { UnsafePointer(strdupBytes($0)) } }
        let ends = ranges.map { _, end in end.withUnsafeBytes { UnsafePointer(strdupBytes($0)) } }
        defer { (starts + ends).forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        var sizes = [UInt64](repeating: 0, count: ranges.count)
        let startLengths = ranges.map { $0.0.count }, endLengths = ranges.map { $0.1.count }
        var error: UnsafeMutablePointer<CChar>?
        starts.map { Optional($0) }.withUnsafeBufferPointer { startPointers in
            ends.map { Optional($0) }.withUnsafeBufferPointer { endPointers in
                rocksdb_approximate_sizes(handle.db, Int32(ranges.count), startPointers.baseAddress, startLengths,
                                          endPointers.baseAddress, endLengths, &sizes, &error)
            }
        }
        if let error {
            rocksdb_free(error)
            return 0
        }
        return sizes.reduce(0, +)
    }

    deinit {
        if let iterator = parked.withLock({ $0?.iterator }) { rocksdb_iter_destroy(iterator) }
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_release_snapshot(handle.db, snapshot)
        handle.snapshotReleased()
    }

    func scan(after position: SyncKey, _ visit: (StoreEntryView) throws(StoreError) -> Bool) throws(StoreError) -> Bool {
        let positionPrefix = Array(position.prefix.utf8)
        // Continue the parked iterator if this scan starts exactly where it stopped.
        var resumeIndex: Int?
        var iterator: OpaquePointer
        if let previous = parked.withLock({ parked -> ParkedIterator? in defer { parked = nil }; return parked }) {
            if !position.isBeginning, positionPrefix.elementsEqual(prefixes[previous.prefixIndex].utf8),
               previous.lastKey.elementsEqual(position.key.utf8) {
                resumeIndex = previous.prefixIndex
                iterator = previous.iterator
            } else {
                rocksdb_iter_destroy(previous.iterator)
                iterator = rocksdb_create_iterator(handle.db, readOptions)!
            }
        } else {
            iterator = rocksdb_create_iterator(handle.db, readOptions)!
        }
        var keepIterator = false
        var lastTaken: [UInt8] = []
        defer { if !keepIterator { rocksdb_iter_destroy(iterator) } }
        for (index, prefix) in prefixes.enumerated() {
            if let resumeIndex, index < resumeIndex { continue }
            let prefixBytes = Array(prefix.utf8)
            let rangeStart = RocksDBKeys.rangeStart(prefixBytes, generation: generations[index])
            if resumeIndex != index {
                var seekKey = rangeStart
                if !position.isBeginning {
                    if prefixBytes.lexicographicallyPrecedes(positionPrefix) { continue }
                    if prefixBytes == positionPrefix {
                        // The smallest key strictly after `position.key` is `position.key ‖ 0x00`.
                        seekKey.append(contentsOf: position.key.utf8)
                        seekKey.append(0)
                    }
                }
                seekKey.withUnsafeBytes { rocksdb_iter_seek(iterator, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
            }
            // Whether `lastTaken` names the entry just before the iterator's, in this prefix.
            var named = resumeIndex == index
            if named { lastTaken = Array(position.key.utf8) }
            let keepGoing = try withBytes(prefixBytes) { (prefixView) throws(StoreError) -> Bool in
                while rocksdb_iter_valid(iterator) != 0 {
                    var keyLength = 0
                    var valueLength = 0
                    let key = UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength)
                    guard keyLength >= rangeStart.count,
                          memcmp(key.baseAddress!, rangeStart, rangeStart.count) == 0 else { break }
                    let value = UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength)
                    let entry = StoreEntryView(prefix: prefixView, key: UnsafeRawBufferPointer(rebasing: key[rangeStart.count...]), value: value)
                    if try !visit(entry) { return false }
                    // Remember the key taken (a few bytes): the next scan resumes after it.
                    lastTaken.removeAll(keepingCapacity: true)
                    lastTaken.append(contentsOf: entry.key)
                    named = true
                    rocksdb_iter_next(iterator)
                }
                return true
            }
            try RocksDBHandle.check { rocksdb_iter_get_error(iterator, $0) }
            if !keepGoing {
                // Stopped on an entry not taken: park the iterator there for the next chunk.
                if named {
                    let previous = parked.withLock { parked -> ParkedIterator? in
                        defer { parked = ParkedIterator(iterator: iterator, prefixIndex: index, lastKey: lastTaken) }
                        return parked
                    }
                    if let previous { rocksdb_iter_destroy(previous.iterator) }
                    keepIterator = true
                }
                return false
            }
        }
        return true
    }
}

/// A `malloc`ed copy of `bytes` (keys may hold NUL bytes, so not `strdup`).
private func strdupBytes(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<CChar> {
    let copy = malloc(max(1, bytes.count))!.assumingMemoryBound(to: CChar.self)
    if let base = bytes.baseAddress { memcpy(copy, base, bytes.count) }
    return copy
}
