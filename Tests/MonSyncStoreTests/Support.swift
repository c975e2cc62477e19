import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncStore
import Testing

/// The backends every behavioural test runs on.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory
    case rocksDB
    case rocksDBWriteBatch

    var testDescription: String { rawValue }

    /// A fresh, empty store and the directory to delete afterwards (if any).
    func makeStore() throws -> TestStore {
        switch self {
        case .memory:
            return TestStore(store: InMemoryStore(), directory: nil)
        case .rocksDB, .rocksDBWriteBatch:
            let directory = temporaryDirectory()
            let method: RocksDBStore.BulkLoadMethod = self == .rocksDB ? .sstIngest : .writeBatch(synced: false)
            // A small SST file size makes the staging tests cross file boundaries.
            let store = try RocksDBStore(path: directory, configuration: .init(bulkLoad: method, sstFileSize: 64 * 1024))
            return TestStore(store: store, directory: directory)
        }
    }
}

/// A store under test; deletes its directory when dropped.
final class TestStore: Sendable {
    let store: any MonitorStore
    let directory: String?

    init(store: any MonitorStore, directory: String?) {
        self.store = store
        self.directory = directory
    }

    deinit {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

func temporaryDirectory() -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-store-\(UUID().uuidString)")
    return url.path
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

/// Fills `store` with `count` keys spread over `prefixes`, values of varied sizes; returns what was written.
@discardableResult
func populate(_ store: any MonitorStore, prefixes: [String], count: Int, seed: UInt64, maxValue: Int = 300) throws -> [SyncKey: [UInt8]] {
    var random = SeededRandomNumberGenerator(seed: seed)
    var written: [SyncKey: [UInt8]] = [:]
    var transaction = StoreTransaction()
    for index in 0..<count {
        let prefix = prefixes[Int(random.next() % UInt64(prefixes.count))]
        let key = "k\(random.next() % 100_000)-\(index)"
        let value = (0..<Int(random.next() % UInt64(maxValue + 1))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        transaction.put(prefix, key, value)
        written[SyncKey(prefix: prefix, key: key)] = value
        if transaction.count == 500 {
            try store.apply(transaction)
            transaction = StoreTransaction()
        }
    }
    if !transaction.isEmpty { try store.apply(transaction) }
    return written
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
