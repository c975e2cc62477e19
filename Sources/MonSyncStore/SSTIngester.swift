import CRocksDB
import Dispatch
import Foundation
import MonSyncCore

/// Makes finished staging SST files durable and ingests them, in order, on a
/// background queue, so writing the next file overlaps the disk flush of the last.
///
/// A requester staging a large store is otherwise stop-and-go: every 64 MiB it
/// waits for `fsync` (a fifth of a second on a 350 MB/s disk) with the network
/// idle and the provider's window full. Here the disk is kept busy while chunks
/// keep arriving. The first failure is kept and reported by the next
/// ``enqueue(_:)`` or ``drain()``; files after a failure are deleted, not ingested.
final class SSTIngester: Sendable {
    private let handle: RocksDBHandle
    private let queue = DispatchQueue(label: "monsync.store.sst-ingest")
    private let pending = DispatchGroup()
    private let failure = LockedState<StoreError?>(nil)

    init(handle: RocksDBHandle) { self.handle = handle }

    /// Queues `path` (a finished SST file) for sync and ingestion.
    /// - Throws: the failure of an earlier file, if any.
    func enqueue(_ path: String) throws(StoreError) {
        if let error = failure.withLock({ $0 }) {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        queue.async(group: pending) { [handle, failure] in
            guard failure.withLock({ $0 == nil }) else {
                try? FileManager.default.removeItem(atPath: path)
                return
            }
            do throws(StoreError) {
                try Self.syncAndIngest(path, into: handle)
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                failure.withLock { if $0 == nil { $0 = error } }
            }
        }
    }

    /// Waits until every queued file is ingested (or dropped after a failure).
    /// - Throws: the first failure, which stays recorded.
    func drain() throws(StoreError) {
        pending.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private static func syncAndIngest(_ path: String, into handle: RocksDBHandle) throws(StoreError) {
        // Make the file durable ourselves before it becomes part of the database, rather
        // than rely on whether this RocksDB version's writer or ingestion syncs it.
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .backend("cannot open \(path) to sync it: errno \(errno)") }
        let synced = fsync(descriptor)
        close(descriptor)
        guard synced == 0 else { throw .backend("fsync of \(path) failed: errno \(errno)") }
        let options = rocksdb_ingestexternalfileoptions_create()!
        defer { rocksdb_ingestexternalfileoptions_destroy(options) }
        rocksdb_ingestexternalfileoptions_set_move_files(options, 1)
        guard let cPath = strdup(path) else { throw .backend("out of memory") }
        defer { free(cPath) }
        let files = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: 1)
        defer { files.deallocate() }
        files.initialize(to: UnsafePointer(cPath))
        try handle.withDatabase { (db) throws(StoreError) in
            try RocksDBHandle.check { rocksdb_ingest_external_file(db, files, 1, options, $0) }
        }
    }
}
