import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncStore
import Testing

/// The snapshot file of `monsync snapshot save`: what the writer keeps, what the reader checks,
/// and that a restore builds exactly the store the file describes.
@Suite("Snapshot file")
struct SnapshotFileTests {
    static let prefixes = ["kv", "kv_clients", "paxos"]

    /// A store with a Paxos log of `versions` versions trimmed to its last `keep`, and its data.
    static func sourceStore(versions: UInt64 = 30, keep: UInt64 = 12, seed: UInt64 = 7) throws -> InMemoryStore {
        let store = InMemoryStore()
        let log = PaxosLog(store: store)
        var random = SeededRandomNumberGenerator(seed: seed)
        for version in 1...versions {
            var transaction = StoreTransaction()
            for index in 0..<20 {
                let size = Int(random.next() % 700)
                transaction.put("kv", "key-\(Int(random.next() % 400))-\(index)", (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            }
            transaction.put("kv_clients", String(format: "%016x", version % 3), [UInt8(version)])
            try log.commit(version: version, transaction)
        }
        try log.trim(to: versions - keep + 1)
        return store
    }

    /// The store a restore must build: the source's data with the log cut to its last version.
    static func expectedDigest(of source: InMemoryStore) throws -> StoreDigest {
        let log = PaxosLog(store: source)
        let (first, last) = (try log.firstCommitted(), try log.lastCommitted())
        let copy = InMemoryStore()
        var transaction = StoreTransaction()
        _ = try source.snapshot(of: prefixes).scan(after: .beginning) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            transaction.put(String(decoding: entry.prefix, as: UTF8.self), String(decoding: entry.key, as: UTF8.self), Array(entry.value))
            return true
        }
        try copy.apply(transaction)
        var cut = StoreTransaction()
        for version in first..<last { cut.erase("paxos", String(version)) }
        cut.put("paxos", "first_committed", uint64: last)
        try copy.apply(cut)
        return try copy.digest(of: prefixes)
    }

    static func header(for store: InMemoryStore) throws -> SnapshotFileHeader {
        let log = PaxosLog(store: store)
        let monmap = [MonitorEntity(rank: 0, name: "a", address: "tcp://127.0.0.1:7001"),
                      MonitorEntity(rank: 1, name: "b", address: "tcp://127.0.0.1:7002")]
        return SnapshotFileHeader(version: try log.lastCommitted(), sourceFirstCommitted: try log.firstCommitted(), monmapEpoch: 3,
                                  monmap: monmap, source: monmap[1], prefixes: prefixes)
    }

    /// Writes `store`'s snapshot to `path` in chunks of at most `maxBytes`, as a backup would receive them.
    @discardableResult
    static func save(_ store: InMemoryStore, to path: String, maxBytes: Int = 4096) throws -> SnapshotFileHeader {
        let snapshot = try store.snapshot(of: prefixes)
        let writer = try SnapshotFileWriter(path: path)
        try writer.begin(try header(for: store))
        var position = SyncKey.beginning
        while true {
            let chunk = try snapshot.encodedChunk(after: position, limits: ChunkLimits(maxBytes: maxBytes, maxKeys: 50))
            try writer.append(try EncodedTransaction(chunk.bytes[...]))
            position = chunk.lastKey
            if chunk.isComplete { break }
        }
        return try writer.finish(createdMilliseconds: 1_700_000_000_123)
    }

    func withFile<T>(_ body: (String) throws -> T) throws -> T {
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory + "/backup.msnap")
    }

    @Test("a saved file reads back whole: header, chunks, digest of exactly the store a restore builds")
    func roundTrip() throws {
        try withFile { path in
            let store = try Self.sourceStore()
            let written = try Self.save(store, to: path)
            let expected = try Self.expectedDigest(of: store)
            #expect(written.digest == expected)
            #expect(written.version == 30)
            #expect(written.sourceFirstCommitted == 19)
            #expect(written.chunkCount > 10, "small chunks: the file has many records")
            #expect(!FileManager.default.fileExists(atPath: path + ".partial-\(getpid())"), "the temporary file became the file")

            let reader = try SnapshotFileReader(path: path)
            #expect(reader.header == written)
            #expect(reader.header.monmapEpoch == 3)
            #expect(reader.header.source.name == "b")
            #expect(reader.header.createdMilliseconds == 1_700_000_000_123)
            var chunks = 0
            let digest = try reader.verify { _ in chunks += 1 }
            #expect(digest == expected)
            #expect(UInt64(chunks) == written.chunkCount)
        }
    }

    @Test("restore builds a store at the snapshot's version alone, on both backends; its digest is the file's", arguments: Backend.allCases)
    func restore(backend: Backend) throws {
        try withFile { path in
            let store = try Self.sourceStore()
            let header = try Self.save(store, to: path)
            let target = try backend.makeStore()
            var epilogue = StoreTransaction()
            epilogue.setLatestMonmap([1, 2, 3])
            let digest = try SnapshotRestore.restore(try SnapshotFileReader(path: path), into: target.store, epilogue: epilogue)
            #expect(digest == header.digest)
            let log = PaxosLog(store: target.store)
            #expect(try log.firstCommitted() == 30)
            #expect(try log.lastCommitted() == 30)
            #expect(try log.transaction(at: 30) != nil)
            #expect(try log.transaction(at: 29) == nil)
            #expect(try target.store.lastCommittedFloor() == 30)
            #expect(try target.store.latestMonmap() == [1, 2, 3])
            #expect(try target.store.syncMarker() == nil)
            // Every key of the source's data is there with its value.
            let source = try store.snapshot(of: ["kv", "kv_clients"]).digest()
            #expect(try target.store.digest(of: ["kv", "kv_clients"]) == source)

            // Into a store that is not empty, nothing is done.
            #expect(throws: SnapshotFileError.self) {
                try SnapshotRestore.restore(try SnapshotFileReader(path: path), into: target.store)
            }
            #expect(try target.store.digest(of: Self.prefixes) == header.digest)
        }
    }

    @Test("a flipped byte anywhere in a chunk is caught by its CRC32C, and a restore keeps nothing")
    func corruptedChunk() throws {
        try withFile { path in
            let header = try Self.save(try Self.sourceStore(), to: path)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let headerSize = header.encoded().count
            // The third chunk's payload: skip two records (tag, length, CRC, bytes each).
            var offset = headerSize
            for _ in 0..<2 {
                let length = Int(bytes[offset + 1]) | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]) << 16
                offset += 9 + length
            }
            bytes[offset + 9 + 20] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let reader = try SnapshotFileReader(path: path)
            #expect(throws: SnapshotFileError.chunkChecksumMismatch(index: 3, offset: UInt64(offset))) { try reader.verify() }

            let target = InMemoryStore()
            #expect(throws: SnapshotFileError.chunkChecksumMismatch(index: 3, offset: UInt64(offset))) {
                try SnapshotRestore.restore(try SnapshotFileReader(path: path), into: target)
            }
            #expect(try target.digest(of: Self.prefixes).keyCount == 0, "nothing of a damaged file is kept")
            #expect(try target.syncMarker() == nil)
        }
    }

    @Test("a file cut at any point is refused: in the header, in a record, before the trailer, in the trailer")
    func truncated() throws {
        try withFile { path in
            let header = try Self.save(try Self.sourceStore(), to: path)
            let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let headerSize = header.encoded().count
            let cuts = [0, 5, headerSize - 1, headerSize, headerSize + 4, headerSize + 200, whole.count / 2,
                        whole.count - 21, whole.count - 10, whole.count - 1]
            for cut in cuts {
                try Data(whole.prefix(cut)).write(to: URL(fileURLWithPath: path))
                do throws(SnapshotFileError) {
                    let reader = try SnapshotFileReader(path: path)
                    try reader.verify()
                    Issue.record("a file cut at \(cut) of \(whole.count) bytes verified")
                } catch {
                    switch error {
                    case .truncated: break
                    default: Issue.record("a file cut at \(cut) was refused as \(error), not as truncated")
                    }
                }
            }
            // And one byte too many.
            try Data(whole + [0]).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotFileError.trailingBytes(offset: UInt64(whole.count))) { try SnapshotFileReader(path: path).verify() }
        }
    }

    @Test("a damaged header, another file, a newer format and a wrong digest are each refused by name")
    func damagedHeader() throws {
        try withFile { path in
            let header = try Self.save(try Self.sourceStore(), to: path)
            let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))

            var flipped = whole
            flipped[20] ^= 1
            try Data(flipped).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotFileError.headerCorrupt("its CRC32C does not match")) { try SnapshotFileReader(path: path) }

            try Data(Array("not a snapshot at all".utf8)).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotFileError.notASnapshot) { try SnapshotFileReader(path: path) }

            // A header written by a newer format that older readers must not read.
            var newer = header
            newer.chunkCount = header.chunkCount
            var future = newer.encoded()
            future[9] = 2  // struct_compat
            let crc = CRC32C.checksum(future.dropLast(4))
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { future[future.count - 4 + i] = $0[i] } }
            try Data(future + whole.dropFirst(future.count)).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotFileError.unsupportedFormat(compat: 2, supported: 1)) { try SnapshotFileReader(path: path) }

            // A header whose digest does not match the chunks (same size, valid CRC).
            var lying = header
            lying.sha256[0] ^= 0xFF
            try Data(lying.encoded() + whole.dropFirst(header.encoded().count)).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotFileError.digestMismatch(recorded: lying.digest, computed: header.digest)) {
                try SnapshotFileReader(path: path).verify()
            }
        }
    }

    @Test("the writer refuses chunks a snapshot cannot hold, and never leaves a file at the destination")
    func writerRefusesBadContent() throws {
        try withFile { path in
            let store = try Self.sourceStore()
            let header = try Self.header(for: store)
            func refused(_ chunks: [StoreTransaction]) throws -> Bool {
                let writer = try SnapshotFileWriter(path: path)
                try writer.begin(header)
                do {
                    for chunk in chunks { try writer.append(try EncodedTransaction(chunk.encoded()[...])) }
                    _ = try writer.finish(createdMilliseconds: 0)
                    return false
                } catch let error as SnapshotFileError {
                    guard case .contentInvalid = error else { return false }
                    writer.discard()
                    return !FileManager.default.fileExists(atPath: path)
                }
            }
            var outOfOrder = StoreTransaction()
            outOfOrder.put("kv", "b", [1])
            outOfOrder.put("kv", "a", [1])
            #expect(try refused([outOfOrder]))
            var acrossChunks = StoreTransaction()
            acrossChunks.put("kv", "a", [1])
            #expect(try refused([acrossChunks, acrossChunks]), "a key repeated in the next chunk")
            var erase = StoreTransaction()
            erase.erase("kv", "a")
            #expect(try refused([erase]))
            var stranger = StoreTransaction()
            stranger.put("auth", "x", [1])
            #expect(try refused([stranger]))
            var wrongVersion = StoreTransaction()
            wrongVersion.put("paxos", "last_committed", uint64: header.version - 1)
            #expect(try refused([wrongVersion]))
            var noLog = StoreTransaction()
            noLog.put("kv", "a", [1])
            #expect(try refused([noLog]), "the log's version is missing at the end")
        }
    }

    @Test("the destination is refused when it exists, replaced with overwrite only once the new file is complete")
    func destinationExists() throws {
        try withFile { path in
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotFileError.exists(path: path)) { try SnapshotFileWriter(path: path) }
            let store = try Self.sourceStore()
            let writer = try SnapshotFileWriter(path: path, overwrite: true)
            try writer.begin(try Self.header(for: store))
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]), "untouched while the new file is written")
            writer.discard()
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
            try Self.save(store, to: path + ".2")
            #expect(try SnapshotFileReader(path: path + ".2").verify() == (try Self.expectedDigest(of: store)))
        }
    }
}
