import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncStore

/// The sync bulk-load workload: a stream of sorted, encoded 1 MiB chunks applied
/// to a RocksDB staging area, from `beginStaging` to a durable `commitStaging`.
public enum BulkLoadWorkload {
    /// A way of writing staged chunks.
    public enum Method: String, CaseIterable, Sendable {
        /// One synced `WriteBatch` per 1 MiB chunk.
        case writeBatchSynced = "write-batch (synced)"
        /// One unsynced `WriteBatch` per chunk, then one WAL sync before the swap.
        case writeBatchUnsynced = "write-batch (unsynced)"
        /// `SstFileWriter` + `IngestExternalFile` (64 MiB files).
        case sstIngest = "sst-writer + ingest"

        var store: RocksDBStore.BulkLoadMethod {
            switch self {
            case .writeBatchSynced: .writeBatch(synced: true)
            case .writeBatchUnsynced: .writeBatch(synced: false)
            case .sstIngest: .sstIngest
            }
        }
    }

    /// A prepared stream of chunks.
    public struct Stream: Sendable {
        /// The encoded chunks, in order (what arrives in MMonSync `chunk_bl`).
        public let chunks: [[UInt8]]
        /// The entries across all chunks.
        public let keys: Int
        /// Key and value bytes across all chunks.
        public let bytes: Int
        /// The size of each value.
        public let valueSize: Int
    }

    /// What one load measured.
    public struct Outcome: Sendable {
        /// Wall-clock seconds from `beginStaging` to a durable `commitStaging`.
        public var seconds: Double
        /// Entries loaded.
        public var keys: Int
        /// Key and value bytes loaded.
        public var bytes: Int
        /// MiB of keys and values per second.
        public var megabytesPerSecond: Double { Double(bytes) / 1_048_576 / seconds }
        /// Entries per second.
        public var keysPerSecond: Double { Double(keys) / seconds }
    }

    /// Builds `totalBytes` of sorted entries with `valueSize`-byte values, cut into ≤ 1 MiB chunks
    /// by a provider snapshot (so the chunking is the real one).
    public static func makeStream(valueSize: Int, totalBytes: Int) throws -> Stream {
        let provider = InMemoryStore()
        var random = SeededRandomNumberGenerator(seed: UInt64(valueSize))
        let count = max(1, totalBytes / (valueSize + 16))
        var transaction = StoreTransaction()
        var value = [UInt8](repeating: 0, count: valueSize)
        for index in 0..<count {
            // Values of random bytes, so compression does not flatter the figures.
            random.fill(&value)
            transaction.put("osdmap", String(format: "full_%010d", index), value)
            if transaction.count == 10_000 {
                try provider.apply(transaction)
                transaction = StoreTransaction()
            }
        }
        try provider.apply(transaction)
        let snapshot = try provider.snapshot(of: ["osdmap"])
        var chunks: [[UInt8]] = []
        var position = SyncKey.beginning
        var keys = 0
        var bytes = 0
        while true {
            let chunk = try snapshot.chunk(after: position, limits: ChunkLimits(maxBytes: 1 << 20, maxKeys: Int.max))
            if !chunk.transaction.isEmpty { chunks.append(chunk.transaction.encoded()) }
            for case let .put(prefix, key, value) in chunk.transaction.operations {
                keys += 1
                bytes += prefix.utf8.count + key.utf8.count + value.count
            }
            position = chunk.lastKey
            if chunk.isComplete { break }
        }
        return Stream(chunks: chunks, keys: keys, bytes: bytes, valueSize: valueSize)
    }

    /// Loads `stream` into a fresh store in `directory` with `method` and times it,
    /// from the first chunk staged to the swap being durable.
    public static func load(_ stream: Stream, method: Method, directory: String) throws -> Outcome {
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RocksDBStore(path: directory, configuration: .init(bulkLoad: method.store))
        let start = ContinuousClock.now
        try store.beginStaging(targets: ["osdmap"])
        for chunk in stream.chunks {
            try store.stage(encoded: EncodedTransaction(chunk[...]))  // as a requester stages a CHUNK
        }
        try store.commitStaging()
        let elapsed = start.duration(to: .now)
        // Check that the load is complete, outside the timed part.
        let digest = try store.digest(of: ["osdmap"])
        guard digest.keyCount == stream.keys else {
            throw MonSyncStore.StoreError.backend("loaded \(digest.keyCount) keys, expected \(stream.keys)")
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Outcome(seconds: seconds, keys: stream.keys, bytes: stream.bytes)
    }

    /// A scratch directory for a load, on the same file system as the temporary directory.
    public static func scratchDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("monsync-bulkload-\(UUID().uuidString)").path
    }
}

extension BulkLoadWorkload {
    /// What the digest measurement found.
    public struct DigestOutcome: Sendable {
        /// Seconds to load the store.
        public var loadSeconds: Double
        /// Seconds to compute the digest.
        public var digestSeconds: Double
        /// Entries hashed.
        public var keys: Int
        /// Key and value bytes hashed.
        public var bytes: Int
        /// The SHA-256, hex.
        public var hex: String
    }

    /// Loads `totalBytes` of `valueSize`-byte entries into a fresh RocksDB store
    /// (generated chunk by chunk, SST ingestion), then times `digest(of:)` over it.
    public static func digest(valueSize: Int, totalBytes: Int, directory: String) throws -> DigestOutcome {
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RocksDBStore(path: directory)
        var random = SeededRandomNumberGenerator(seed: 7)
        let count = max(1, totalBytes / (valueSize + 16))
        let loadStart = ContinuousClock.now
        try store.beginStaging(targets: ["osdmap"])
        var transaction = StoreTransaction()
        var value = [UInt8](repeating: 0, count: valueSize)
        for index in 0..<count {
            random.fill(&value)
            transaction.put("osdmap", String(format: "full_%010d", index), value)
            if transaction.count == 1024 {
                try store.stage(transaction)
                transaction = StoreTransaction()
            }
        }
        try store.stage(transaction)
        try store.commitStaging()
        let loaded = ContinuousClock.now
        let digest = try store.digest(of: ["osdmap"])
        let done = ContinuousClock.now
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        return DigestOutcome(
            loadSeconds: seconds(loadStart.duration(to: loaded)), digestSeconds: seconds(loaded.duration(to: done)),
            keys: digest.keyCount, bytes: digest.byteCount, hex: digest.hex
        )
    }
}
