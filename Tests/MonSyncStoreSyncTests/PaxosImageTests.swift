import MonSyncCore
import MonSyncMessages
import MonSyncStore
@testable import MonSyncStoreSync
import Testing

/// Counts the entries a scan of `base` visits.
private final class CountingSnapshot: StoreSnapshot {
    let base: any StoreSnapshot
    let visited = LockedState(0)
    init(_ base: any StoreSnapshot) { self.base = base }
    var prefixes: [String] { base.prefixes }
    var estimatedSize: UInt64 { base.estimatedSize }
    func scan(after position: SyncKey, _ visit: (StoreEntryView) throws(StoreError) -> Bool) throws(StoreError) -> Bool {
        try base.scan(after: position) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            visited.withLock { $0 += 1 }
            return try visit(entry)
        }
    }
}

@Suite("The Paxos log as a provider's snapshot shows it")
struct PaxosImageTests {
    /// Versions 3…120 (big values), committed up to 118; 119 and 120 accepted only.
    private func snapshot() throws -> CountingSnapshot {
        let store = InMemoryStore()
        var transaction = StoreTransaction()
        for version in UInt64(3)...120 { transaction.put(PaxosLog.prefix, PaxosLog.key(for: version), Array(repeating: 7, count: 4096)) }
        transaction.put(PaxosLog.prefix, PaxosLog.firstCommittedKey, withUnsafeBytes(of: UInt64(3).littleEndian, Array.init))
        transaction.put(PaxosLog.prefix, PaxosLog.lastCommittedKey, withUnsafeBytes(of: UInt64(118).littleEndian, Array.init))
        transaction.put("kv", "a", [1])
        try store.apply(transaction)
        return CountingSnapshot(try store.snapshot(of: [PaxosLog.prefix, "kv"]))
    }

    @Test("without a floor it reads the two bounds and steps over every version (one seek, not 118 values)")
    func boundsOnly() throws {
        let snapshot = try snapshot()
        let image = try PaxosImage(snapshot: snapshot, versionsAfter: 0)
        #expect(image.firstCommitted == 3 && image.lastCommitted == 118)
        #expect(image.versions.isEmpty)
        // The two bounds, and the first entry past the prefix that ends the scan.
        #expect(snapshot.visited.withLock { $0 } <= 3, "visited \(snapshot.visited.withLock { $0 })")
    }

    @Test("with a floor it holds the committed versions above it, whatever their digit count, and no accepted one")
    func versionsAboveFloor() throws {
        let image = try PaxosImage(snapshot: try snapshot(), versionsAfter: 95)
        #expect(image.firstCommitted == 3 && image.lastCommitted == 118)
        #expect(image.versions.keys.sorted() == Array(96...118))
    }

    @Test("version keys sort before ':' and the bounds' keys after it (what the floorless scan relies on)")
    func keyOrder() {
        for version: UInt64 in [0, 1, 9, 10, 99, 12_345, .max] {
            #expect(PaxosLog.key(for: version).utf8.lexicographicallyPrecedes(":".utf8))
        }
        #expect(":".utf8.lexicographicallyPrecedes(PaxosLog.firstCommittedKey.utf8))
        #expect(":".utf8.lexicographicallyPrecedes(PaxosLog.lastCommittedKey.utf8))
    }
}
