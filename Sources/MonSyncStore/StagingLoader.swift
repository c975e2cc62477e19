import CRocksDB
import Foundation

/// Writes staged chunks into a staging generation, by write batch or by SST ingestion.
///
/// Used only under ``RocksDBStore``'s staging mutex, so its SST writer (not
/// thread-safe in RocksDB) is never touched by two threads at once.
final class StagingLoader {
    let marker: SyncMarker
    private let handle: RocksDBHandle
    private let method: RocksDBStore.BulkLoadMethod
    private let fileSize: Int
    private let directory: String

    /// The SST file being written, with its path, entry count and last key.
    private var writer: OpaquePointer?
    private var writerPath = ""
    private var writerEntries = 0
    private var writerBytes = 0
    private var lastKey: [UInt8] = []
    private var fileNumber = 0
    private var envOptions: OpaquePointer?
    /// Syncs and ingests finished files in the background, in order.
    private let ingester: SSTIngester
    /// Write batches: `0x02 ‖ prefix ‖ 0 ‖ S` per target, and a reused buffer for the key being written.
    private var rangeStarts: [String: [UInt8]] = [:]
    private var scratch: [UInt8] = []
    /// SST staging: the last target prefix seen, with its range start.
    private var lastTarget: (prefix: [UInt8], rangeStart: [UInt8])?

    static func directory(for path: String) -> String { path + "/monsync-staging-sst" }

    init(handle: RocksDBHandle, marker: SyncMarker, configuration: RocksDBStore.Configuration) throws(StoreError) {
        self.handle = handle
        self.marker = marker
        method = configuration.bulkLoad
        fileSize = configuration.sstFileSize
        directory = Self.directory(for: handle.path)
        ingester = SSTIngester(handle: handle)
        if method == .sstIngest {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .backend("cannot create \(directory): \(error)")
            }
            envOptions = rocksdb_envoptions_create()
        }
    }

    deinit {
        // Queued files hold the database open: let them finish, so closing the store releases it.
        try? ingester.drain()
        if let writer { rocksdb_sstfilewriter_destroy(writer) }
        if let envOptions { rocksdb_envoptions_destroy(envOptions) }
    }

    private func key(_ prefix: String, _ key: String) -> [UInt8] {
        RocksDBKeys.dataKey(prefix, generation: marker.stagingID, key: key)
    }

    func stage(_ chunk: StoreTransaction) throws(StoreError) {
        for operation in chunk.operations where !marker.targets.contains(operation.prefix) {
            throw .notAStagingTarget(operation.prefix)
        }
        switch method {
        case let .writeBatch(synced):
            let batch = WriteBatch()
            addAll(chunk, to: batch)
            try handle.write(batch, synced: synced)
        case .sstIngest:
            // One path into SST files: the sync's, which reads the encoding in place.
            try stage(EncodedTransaction(chunk.encoded()[...]))
        }
    }

    /// Stages an encoded chunk, reading keys and values in place. Every operation's
    /// prefix is checked against the targets before anything is written.
    func stage(_ chunk: EncodedTransaction) throws(StoreError) {
        var longestKey = 0
        try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
            longestKey = max(longestKey, try rangeStart(ofTarget: operation.prefix).count + operation.key.count)
        }
        switch method {
        case .writeBatch:
            try stage(StoreTransaction(decoding: chunk.bytes))
        case .sstIngest:
            try stageIntoFiles(chunk, longestKey: longestKey)
        }
    }

    /// The hot loop of a sync: sorted puts into SST files. Keys are built in two raw buffers
    /// (the one being written, the one before it) and the writer's state is kept in locals,
    /// so a 100-byte value costs RocksDB's work and little else. A key that does not follow the
    /// last one written starts a new file; an erase cannot be expressed in a file ingested
    /// below newer data, so it waits for what is pending and is written in order, as a batch.
    private func stageIntoFiles(_ chunk: EncodedTransaction, longestKey: Int) throws(StoreError) {
        let capacity = max(longestKey, lastKey.count, 1)
        var current = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
        var previous = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
        defer {
            current.deallocate()
            previous.deallocate()
        }
        var previousCount = lastKey.count
        lastKey.withUnsafeBytes { if let base = $0.baseAddress { previous.copyMemory(from: base, byteCount: $0.count) } }
        var entries = writerEntries
        var bytes = writerBytes
        // Hands the local state back before anything that reads or resets it.
        func store() {
            writerEntries = entries
            writerBytes = bytes
            lastKey = Array(UnsafeRawBufferPointer(start: previous, count: previousCount))
        }
        func load() {
            entries = writerEntries
            bytes = writerBytes
        }
        defer { store() }
        try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
            guard operation.type == StoreTransaction.OperationType.put else {
                store()
                try flushFile()
                try ingester.drain()
                let batch = WriteBatch()
                addAll(StoreTransaction([operation.materialized]), to: batch)
                try handle.write(batch, synced: false)
                load()
                return
            }
            let start = try rangeStart(ofTarget: operation.prefix)
            let count = start.count + operation.key.count
            start.withUnsafeBytes { current.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            if let key = operation.key.baseAddress { (current + start.count).copyMemory(from: key, byteCount: operation.key.count) }
            let common = min(count, previousCount)
            let order = memcmp(previous, current, common)
            let increasing = previousCount == 0 || order < 0 || (order == 0 && previousCount < count)
            if writer == nil || !increasing {
                store()
                if !increasing { try flushFile() }
                if writer == nil { try openFile() }
                load()
            }
            try RocksDBHandle.check {
                rocksdb_sstfilewriter_put(writer, current.assumingMemoryBound(to: CChar.self), count,
                                          operation.value.baseAddress?.assumingMemoryBound(to: CChar.self), operation.value.count, $0)
            }
            entries += 1
            bytes += count + operation.value.count
            swap(&current, &previous)
            previousCount = count
            if bytes >= fileSize {
                store()
                try flushFile()
                load()
            }
        }
    }

    /// The cached `0x02 ‖ prefix ‖ 0 ‖ S` of a target prefix given as bytes; chunks are
    /// sorted, so the previous prefix almost always matches and no `String` is made.
    private func rangeStart(ofTarget prefix: UnsafeRawBufferPointer) throws(StoreError) -> [UInt8] {
        if let cached = lastTarget, cached.prefix.count == prefix.count,
           cached.prefix.withUnsafeBytes({ memcmp($0.baseAddress!, prefix.baseAddress!, prefix.count) == 0 }) {
            return cached.rangeStart
        }
        let name = String(decoding: prefix, as: UTF8.self)
        guard marker.targets.contains(name) else { throw .notAStagingTarget(name) }
        let start = RocksDBKeys.rangeStart(name.utf8, generation: marker.stagingID)
        lastTarget = (Array(prefix), start)
        return start
    }

    /// Puts the physical staging key of `(prefix, key)` into `scratch`.
    private func fillScratch(_ prefix: String, _ key: String) {
        scratch.removeAll(keepingCapacity: true)
        if let start = rangeStarts[prefix] {
            scratch.append(contentsOf: start)
        } else {
            let start = RocksDBKeys.rangeStart(prefix.utf8, generation: marker.stagingID)
            rangeStarts[prefix] = start
            scratch.append(contentsOf: start)
        }
        var key = key
        key.withUTF8 { scratch.append(contentsOf: $0) }
    }

    private func addAll(_ chunk: StoreTransaction, to batch: borrowing WriteBatch) {
        for operation in chunk.operations {
            switch operation {
            case let .put(prefix, key, value):
                fillScratch(prefix, key)
                batch.put(scratch, value)
            case let .erase(prefix, key):
                batch.delete(self.key(prefix, key))
            case let .erasePrefix(prefix):
                batch.deleteRange(
                    RocksDBKeys.rangeStart(prefix.utf8, generation: marker.stagingID),
                    RocksDBKeys.rangeEnd(prefix.utf8, generation: marker.stagingID)
                )
            }
        }
    }

    private func openFile() throws(StoreError) {
        fileNumber += 1
        writerPath = "\(directory)/\(marker.stagingID)-\(fileNumber).sst"
        let writer = rocksdb_sstfilewriter_create(envOptions, handle.options)!
        do {
            try RocksDBHandle.check { rocksdb_sstfilewriter_open(writer, writerPath, $0) }
        } catch {
            rocksdb_sstfilewriter_destroy(writer)
            throw error
        }
        self.writer = writer
        writerEntries = 0
        writerBytes = 0
    }

    /// Finishes the current SST file and hands it to the ingester, which makes it durable
    /// and ingests it while the next file is being written.
    private func flushFile() throws(StoreError) {
        guard let writer else { return }
        self.writer = nil
        defer { rocksdb_sstfilewriter_destroy(writer) }
        guard writerEntries > 0 else {
            try? FileManager.default.removeItem(atPath: writerPath)
            return
        }
        try RocksDBHandle.check { rocksdb_sstfilewriter_finish(writer, $0) }
        try ingester.enqueue(writerPath)
    }

    /// Makes everything staged visible in the staging generation (ingests the open file).
    func finish() throws(StoreError) {
        try flushFile()
        try ingester.drain()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Drops the open file and every SST file not yet ingested.
    func discardFiles() {
        // Nothing may land in the staging generation after it is discarded.
        try? ingester.drain()
        if let writer { rocksdb_sstfilewriter_destroy(writer) }
        writer = nil
        try? FileManager.default.removeItem(atPath: directory)
    }
}
