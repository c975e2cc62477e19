import CRocksDB
import MonSyncCore
import Foundation

/// The open database and the option objects every call shares.
///
/// `@unchecked Sendable` is sound because of what RocksDB guarantees and what
/// this type does not do:
/// - `rocksdb_t` (a `rocksdb::DB`) is documented thread-safe: `Get`, `Write`,
///   `NewIterator`, `GetSnapshot`/`ReleaseSnapshot`, `IngestExternalFile` and
///   `FlushWAL` may be called concurrently from any threads without external locking.
/// - The option objects are created and configured once, in `init`, before the
///   handle is shared, and are only ever passed by const reference afterwards
///   (RocksDB never mutates them), so concurrent reads of them are safe.
/// - Iterators, write batches and SST writers are *not* thread-safe; none is
///   stored here. Each is created, used and destroyed by one caller (iterators
///   inside one `scan`, batches inside one write, the SST writer under the
///   staging mutex).
/// - The database is closed once: by ``close()`` (under the lifecycle lock, only while no call
///   runs and no snapshot is open; every call after it is refused with ``StoreError/closed``),
///   or else in `deinit`, when no other reference exists.
final class RocksDBHandle: @unchecked Sendable {
    let db: OpaquePointer
    let options: OpaquePointer
    let syncedWrite: OpaquePointer
    let unsyncedWrite: OpaquePointer
    let read: OpaquePointer
    let path: String

    /// Whether the database is closed, and what uses it now: calls in progress and open snapshots.
    private struct Lifecycle {
        var closed = false
        var calls = 0
        var snapshots = 0
    }

    private let lifecycle = LockedState(Lifecycle())

    init(path: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .backend("cannot create \(path): \(error)")
        }
        let options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_increase_parallelism(options, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        _ = Self.backgroundPriorityLowered
        // Ceph's monitor store defaults (`mon_rocksdb_options`): 32 MiB memtables, no compression
        // (monitor values are mostly small encoded maps; compressing them costs CPU on every write,
        // every sync chunk staged and every SST built, for little space), dynamic level sizes.
        rocksdb_options_set_write_buffer_size(options, 32 << 20)
        rocksdb_options_set_compression(options, Int32(rocksdb_no_compression))
        rocksdb_options_set_level_compaction_dynamic_level_bytes(options, 1)
        var error: UnsafeMutablePointer<CChar>?
        guard let db = rocksdb_open(options, path, &error), error == nil else {
            let message = error.map { String(cString: $0) } ?? "rocksdb_open failed"
            if let error { rocksdb_free(error) }
            rocksdb_options_destroy(options)
            throw .backend(message)
        }
        self.db = db
        self.options = options
        syncedWrite = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(syncedWrite, 1)
        unsyncedWrite = rocksdb_writeoptions_create()!
        read = rocksdb_readoptions_create()!
        self.path = path
    }

    /// Flushes and compactions run below the Paxos path's CPU priority, once per process.
    ///
    /// The three monitors of a cluster write the same data, so their memtables fill and flush at
    /// the same moment: three 60 ms bursts of SST building (32 MiB each) beside a 20 000 writes/s
    /// load on a 2-core machine, in the very windows where that load's p99 doubles (BENCHMARKS.md,
    /// "The write path at 20 000 writes/s"). At nice 19 the flush takes the CPU the writes leave
    /// idle; RocksDB's own write stall still bounds how far it can fall behind. What remains of
    /// those stalls is the disk: the SST's fdatasync beside the WAL's. The default environment's
    /// thread pools are the process's (every store opened shares them).
    private static let backgroundPriorityLowered: Void = {
        guard let env = rocksdb_create_default_env() else { return }
        rocksdb_env_lower_thread_pool_cpu_priority(env)                // compactions
        rocksdb_env_lower_high_priority_thread_pool_cpu_priority(env)  // flushes
        rocksdb_env_destroy(env)  // the wrapper only: the default environment lives on
    }()

    deinit {
        if !lifecycle.withLock({ $0.closed }) { rocksdb_close(db) }
        rocksdb_readoptions_destroy(read)
        rocksdb_writeoptions_destroy(unsyncedWrite)
        rocksdb_writeoptions_destroy(syncedWrite)
        rocksdb_options_destroy(options)
    }

    /// Closes the database if nothing uses it (no call running, no snapshot open); returns whether
    /// it is closed. Calls made afterwards throw ``StoreError/closed``.
    ///
    /// A process that stops closes its store here, on a path it chooses, once everything that used
    /// the store has ended — not in whichever `deinit` happens to drop the last reference, on
    /// whatever thread, possibly while the process is already exiting.
    func close() -> Bool {
        lifecycle.withLock { state in
            if state.closed { return true }
            guard state.calls == 0, state.snapshots == 0 else { return false }
            state.closed = true
            // Under the lock: no call can start while RocksDB shuts down.
            rocksdb_close(db)
            return true
        }
    }

    /// Runs `body` on the open database; refuses once it is closed.
    @inline(__always)
    func withDatabase<R>(_ body: (OpaquePointer) throws(StoreError) -> R) throws(StoreError) -> R {
        try lifecycle.withLock { (state) throws(StoreError) in
            guard !state.closed else { throw .closed }
            state.calls += 1
        }
        defer { lifecycle.withLock { $0.calls -= 1 } }
        return try body(db)
    }

    /// Notes a snapshot opened (the database stays open until it is released); refuses once closed.
    func snapshotOpened() throws(StoreError) {
        try lifecycle.withLock { (state) throws(StoreError) in
            guard !state.closed else { throw .closed }
            state.snapshots += 1
        }
    }

    /// Notes a snapshot released (after `rocksdb_release_snapshot`).
    func snapshotReleased() { lifecycle.withLock { $0.snapshots -= 1 } }

    /// Runs `body` with an error out-pointer and turns a reported error into ``StoreError/backend(_:)``.
    @inline(__always)
    static func check<R>(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) throws(StoreError) -> R {
        var error: UnsafeMutablePointer<CChar>?
        let result = body(&error)
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            throw .backend(message)
        }
        return result
    }

    /// Reads one physical key.
    func get(_ key: [UInt8], options readOptions: OpaquePointer? = nil) throws(StoreError) -> [UInt8]? {
        let slice: OpaquePointer? = try withDatabase { (db) throws(StoreError) in
            try key.withUnsafeBufferPointer { (key) throws(StoreError) -> OpaquePointer? in
                try Self.check { error in
                    key.baseAddress!.withMemoryRebound(to: CChar.self, capacity: key.count) {
                        rocksdb_get_pinned(db, readOptions ?? read, $0, key.count, error)
                    }
                }
            }
        }
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        guard let value = rocksdb_pinnableslice_value(slice, &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// Writes a batch.
    func write(_ batch: borrowing WriteBatch, synced: Bool) throws(StoreError) {
        try withDatabase { (db) throws(StoreError) in
            try Self.check { rocksdb_write(db, synced ? syncedWrite : unsyncedWrite, batch.pointer, $0) }
        }
    }

    /// Compacts the whole key space: every deleted or overwritten entry is dropped and every
    /// level rewritten, so nothing is left for background compactions (blocks until done).
    func compactAll() throws(StoreError) {
        try withDatabase { (db) throws(StoreError) in rocksdb_compact_range(db, nil, 0, nil, 0) }
    }

    /// Makes everything written so far durable (syncs the write-ahead log).
    func syncLog() throws(StoreError) {
        try withDatabase { (db) throws(StoreError) in try Self.check { rocksdb_flush_wal(db, 1, $0) } }
    }
}

/// An owned `rocksdb_writebatch_t`, used by one caller at a time.
struct WriteBatch: ~Copyable {
    let pointer: OpaquePointer

    init() { pointer = rocksdb_writebatch_create()! }
    deinit { rocksdb_writebatch_destroy(pointer) }

    var count: Int { Int(rocksdb_writebatch_count(pointer)) }

    var dataSize: Int {
        var size = 0
        _ = rocksdb_writebatch_data(pointer, &size)
        return size
    }

    func clear() { rocksdb_writebatch_clear(pointer) }

    func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        rocksdb_writebatch_put(
            pointer,
            key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
            value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count
        )
    }

    func put(_ key: [UInt8], _ value: some Collection<UInt8>) {
        key.withUnsafeBytes { key in
            if value.withContiguousStorageIfAvailable({ put(key, UnsafeRawBufferPointer($0)) }) == nil {
                Array(value).withUnsafeBytes { put(key, $0) }
            }
        }
    }

    func delete(_ key: [UInt8]) {
        key.withUnsafeBytes { key in
            rocksdb_writebatch_delete(pointer, key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count)
        }
    }

    /// Deletes `[start, end)` with one range tombstone.
    func deleteRange(_ start: [UInt8], _ end: [UInt8]) {
        start.withUnsafeBytes { start in
            end.withUnsafeBytes { end in
                rocksdb_writebatch_delete_range(
                    pointer,
                    start.baseAddress?.assumingMemoryBound(to: CChar.self), start.count,
                    end.baseAddress?.assumingMemoryBound(to: CChar.self), end.count
                )
            }
        }
    }
}
