import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncStore
import Testing

/// What only a durable backend can show: reopening, a crash mid-sync, an end-to-end sync.
@Suite("RocksDB store")
struct RocksDBStoreTests {
    @Test func dataAndSwappedGenerationsSurviveReopen() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try RocksDBStore(path: directory)
            try store.put("paxos", "old", [1])
            try store.put("local", "x", [2])
            try store.beginStaging(targets: ["paxos"])
            var chunk = StoreTransaction()
            chunk.put("paxos", "new", [3])
            try store.stage(chunk)
            try store.commitStaging()
        }
        let reopened = try RocksDBStore(path: directory)
        #expect(try reopened.get("paxos", "new") == [3])
        #expect(try reopened.get("paxos", "old") == nil)
        #expect(try reopened.get("local", "x") == [2])
        #expect(try reopened.syncMarker() == nil)
        // A second sync after reopening allocates a new generation and works too.
        let marker = try reopened.beginStaging(targets: ["paxos"])
        var chunk = StoreTransaction()
        chunk.put("paxos", "newer", [4])
        try reopened.stage(chunk)
        try reopened.commitStaging()
        #expect(marker.stagingID >= 2)
        #expect(try reopened.snapshot(of: ["paxos"]).allEntries().map(\.0.key) == ["newer"])
    }

    /// `compact()` drops what was deleted (a trimmed log's versions) from the files, and keeps
    /// every live entry as it was.
    @Test func compactDropsDeletedEntriesAndKeepsTheRest() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var bulk = StoreTransaction()
        for index in 0..<256 { bulk.put("paxos", "\(index)", [UInt8](repeating: UInt8(index), count: 64 << 10)) }
        bulk.put("kv", "kept", [7])
        var trim = StoreTransaction()
        for index in 0..<255 { trim.erase("paxos", "\(index)") }
        // Each write reaches the files on its own: reopening replays the log into a table file.
        for transaction in [bulk, trim] {
            let store = try RocksDBStore(path: directory)
            try store.apply(transaction)
            #expect(store.close(), "nothing uses the store: it closes")
        }
        let reopened = try RocksDBStore(path: directory)
        let before = try reopened.digest(of: ["kv", "paxos"])
        let filesBefore = try #require(reopened.usage()).storeBytes
        #expect(filesBefore > 16 << 20, "the deleted values are still in the files: \(filesBefore) bytes")
        try reopened.compact()
        let filesAfter = try #require(reopened.usage()).storeBytes
        #expect(filesAfter < filesBefore / 4, "compacted: \(filesBefore) → \(filesAfter) bytes")
        #expect(try reopened.digest(of: ["kv", "paxos"]) == before)
        #expect(try reopened.get("paxos", "255") == [UInt8](repeating: 255, count: 64 << 10))
        #expect(try reopened.get("paxos", "0") == nil && reopened.get("kv", "kept") == [7])
    }

    /// A stopping node closes its store itself, once nothing uses it: not while a snapshot (a
    /// provider's sync) is open; calls afterwards are refused, and the directory can be opened again.
    @Test func closeWaitsForSnapshotsAndRefusesLaterCalls() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RocksDBStore(path: directory)
        try store.put("paxos", "k", [1])
        var snapshot: (any StoreSnapshot)? = try store.snapshot(of: ["paxos"])
        #expect(!store.close(), "a snapshot is open: the database stays open")
        #expect(try store.get("paxos", "k") == [1], "a refused close changes nothing")
        #expect(try snapshot?.allEntries().count == 1)
        snapshot = nil
        #expect(store.close())
        #expect(store.close(), "closing twice is harmless")
        #expect(throws: StoreError.closed) { try store.get("paxos", "k") }
        #expect(throws: StoreError.closed) { try store.put("paxos", "k", [2]) }
        #expect(throws: StoreError.closed) { try store.snapshot(of: ["paxos"]) }
        // Closed means released: the directory opens again while this object still exists.
        let reopened = try RocksDBStore(path: directory)
        #expect(try reopened.get("paxos", "k") == [1])
        withExtendedLifetime(store) {}
    }

    @Test func secondOpenOfTheSameDirectoryFailsWithATypedError() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RocksDBStore(path: directory)
        #expect(throws: StoreError.self) { try RocksDBStore(path: directory) }
        withExtendedLifetime(store) {}
    }

    /// A node that crashed mid-sync finds the marker at startup, its live data intact,
    /// and starts over; the partial staged data never becomes visible.
    @Test(arguments: [RocksDBStore.BulkLoadMethod.sstIngest, .writeBatch(synced: false)])
    func crashMidSyncLeavesAMarkerAndIntactLiveData(_ method: RocksDBStore.BulkLoadMethod) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = RocksDBStore.Configuration(bulkLoad: method, sstFileSize: 4096)
        let marker: SyncMarker
        do {
            let store = try RocksDBStore(path: directory, configuration: configuration)
            try store.put("paxos", "live", [1])
            try store.put(StoreLayout.protectedPrefix, StoreLayout.lastCommittedFloorKey, RocksDBTestSupport.le(7))
            marker = try store.beginStaging(targets: ["paxos", "auth"])
            var chunk = StoreTransaction()
            for index in 0..<200 { chunk.put("paxos", String(format: "%05d", index), [UInt8](repeating: 9, count: 100)) }
            try store.stage(chunk)
            // The process "dies" here: the store is dropped without commit or abandon.
        }
        let store = try RocksDBStore(path: directory, configuration: configuration)
        #expect(try store.syncMarker() == marker)
        #expect(try store.snapshot(of: ["paxos", "auth"]).allEntries().map(\.0.key) == ["live"])
        #expect(try store.lastCommittedFloor() == 7)
        #expect(throws: StoreError.notStaging) { try store.stage(StoreTransaction()) }
        try store.abandonStaging()
        #expect(try store.syncMarker() == nil)
        // Start over: a new staging area does not contain the old partial data.
        try store.beginStaging(targets: ["paxos"])
        var chunk = StoreTransaction()
        chunk.put("paxos", "fresh", [2])
        try store.stage(chunk)
        try store.commitStaging()
        #expect(try store.snapshot(of: ["paxos"]).allEntries().map(\.0.key) == ["fresh"])
    }

    /// A provider serves chunks from a snapshot while it keeps committing; the requester
    /// stages them on RocksDB and swaps; the digests of the provider's snapshot and the
    /// requester's store are equal.
    @Test(arguments: [RocksDBStore.BulkLoadMethod.sstIngest, .writeBatch(synced: false)])
    func endToEndSyncMatchesTheProvidersDigest(_ method: RocksDBStore.BulkLoadMethod) throws {
        let providerDirectory = temporaryDirectory()
        let requesterDirectory = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: providerDirectory)
            try? FileManager.default.removeItem(atPath: requesterDirectory)
        }
        let targets = ["auth", "osdmap", "paxos"]
        let provider = try RocksDBStore(path: providerDirectory)
        try populate(provider, prefixes: targets + ["local"], count: 5000, seed: 11, maxValue: 2000)
        let requester = try RocksDBStore(path: requesterDirectory, configuration: .init(bulkLoad: method, sstFileSize: 256 * 1024))
        try populate(requester, prefixes: targets + ["local"], count: 500, seed: 12)
        let requesterLocal = try requester.digest(of: ["local"])

        let snapshot = try provider.snapshot(of: targets)
        try requester.beginStaging(targets: targets)
        var position = SyncKey.beginning
        var chunks = 0
        while true {
            let chunk = try snapshot.chunk(after: position, limits: ChunkLimits(maxBytes: 64 * 1024))
            // The chunk travels encoded; the requester decodes it.
            try requester.stage(StoreTransaction(decoding: chunk.transaction.encoded()))
            try provider.put("osdmap", "during-\(chunks)", [1])  // commits continue on the provider
            chunks += 1
            position = chunk.lastKey
            if chunk.isComplete { break }
        }
        try requester.commitStaging()
        #expect(chunks > 10)
        #expect(try requester.digest(of: targets) == snapshot.digest())
        #expect(try requester.digest(of: targets) != provider.digest(of: targets))  // the provider moved on
        #expect(try requester.digest(of: ["local"]) == requesterLocal)
    }
}

enum RocksDBTestSupport {
    static func le(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}
