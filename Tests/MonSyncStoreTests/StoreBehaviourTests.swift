import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncStore
import Testing

/// The behavioural suite every backend must pass.
@Suite("Store behaviour")
struct StoreBehaviourTests {
    @Test(arguments: Backend.allCases)
    func putGetExistsErase(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        #expect(try store.get("auth", "a") == nil)
        #expect(try store.exists("auth", "a") == false)
        try store.put("auth", "a", bytes("one"))
        try store.put("auth", "empty", [UInt8]())
        #expect(try store.get("auth", "a") == bytes("one"))
        #expect(try store.get("auth", "empty") == [])
        #expect(try store.exists("auth", "empty"))
        try store.put("auth", "a", bytes("two"))
        #expect(try store.get("auth", "a") == bytes("two"))
        try store.erase("auth", "a")
        #expect(try store.get("auth", "a") == nil)
        try store.erase("auth", "never-there")
        // Same key under another prefix is another entry.
        try store.put("osdmap", "empty", bytes("x"))
        #expect(try store.get("auth", "empty") == [])
    }

    @Test(arguments: Backend.allCases)
    func erasePrefixRemovesOnlyThatPrefix(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        var transaction = StoreTransaction()
        transaction.put("a", "1", bytes("a1"))
        transaction.put("a", "2", bytes("a2"))
        transaction.put("ab", "1", bytes("ab1"))
        transaction.put("b", "1", bytes("b1"))
        try store.apply(transaction)
        try store.erasePrefix("a")
        #expect(try store.get("a", "1") == nil)
        #expect(try store.get("a", "2") == nil)
        #expect(try store.get("ab", "1") == bytes("ab1"))
        #expect(try store.get("b", "1") == bytes("b1"))
        // The prefix is usable again afterwards.
        try store.put("a", "3", bytes("a3"))
        #expect(try store.snapshot(of: ["a"]).allEntries().map(\.0) == [SyncKey(prefix: "a", key: "3")])
    }

    @Test(arguments: Backend.allCases)
    func transactionAppliesInOrderAndAtomically(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        var transaction = StoreTransaction()
        transaction.put("p", "k", bytes("first"))
        transaction.erase("p", "k")
        transaction.put("p", "k", bytes("last"))
        transaction.put("p", "gone", bytes("x"))
        transaction.erasePrefix("q")
        transaction.put("q", "new", bytes("after-erase"))
        try store.put("q", "old", bytes("before"))
        try store.apply(transaction)
        #expect(try store.get("p", "k") == bytes("last"))
        #expect(try store.get("q", "old") == nil)
        #expect(try store.get("q", "new") == bytes("after-erase"))

        // A transaction with one bad operation applies nothing.
        var bad = StoreTransaction()
        bad.put("p", "k", bytes("changed"))
        bad.put("bad\u{0}prefix", "k", bytes("x"))
        #expect(throws: StoreError.invalidPrefix("bad\u{0}prefix")) { try store.apply(bad) }
        #expect(try store.get("p", "k") == bytes("last"))
    }

    @Test(arguments: Backend.allCases)
    func invalidPrefixesAreRefused(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        #expect(throws: StoreError.invalidPrefix("")) { try store.put("", "k", [1]) }
        #expect(throws: StoreError.invalidPrefix("")) { try store.get("", "k") }
        #expect(throws: StoreError.invalidPrefix("a\u{0}b")) { try store.get("a\u{0}b", "k") }
        #expect(throws: StoreError.invalidPrefix("")) { try store.snapshot(of: [""]) }
    }

    @Test(arguments: Backend.allCases)
    func keysAreOrderedByPrefixThenKeyBytewise(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        // "e\u{301}" and "\u{e9}" are canonically equivalent Swift strings but different bytes: two keys.
        let keys = ["b", "a", "aa", "A", "é", "e\u{301}", "k\u{0}nul", "10", "9", ""]
        var transaction = StoreTransaction()
        for (index, key) in keys.enumerated() {
            transaction.put("ab", key, [UInt8(index)])
            transaction.put("a", key, [UInt8(index)])
            transaction.put("b", key, [UInt8(index)])
        }
        try store.apply(transaction)
        let entries = try store.snapshot(of: ["b", "ab", "a"]).allEntries()
        let expectedKeys = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let expected = ["a", "ab", "b"].flatMap { prefix in expectedKeys.map { SyncKey(prefix: prefix, key: $0) } }
        #expect(entries.map(\.0).map { [$0.prefix, $0.key].map { Array($0.utf8) } } == expected.map { [$0.prefix, $0.key].map { Array($0.utf8) } })
        #expect(try store.get("a", "é") == [4])
        #expect(try store.get("a", "e\u{301}") == [5])
    }

    @Test(arguments: Backend.allCases)
    func snapshotIsPointInTimeAndCoversOnlyItsPrefixes(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        try store.put("paxos", "1", bytes("v1"))
        try store.put("auth", "x", bytes("x1"))
        try store.put("local", "y", bytes("not synced"))
        let snapshot = try store.snapshot(of: ["paxos", "auth"])
        #expect(snapshot.prefixes == ["auth", "paxos"])
        try store.put("paxos", "2", bytes("v2"))
        try store.put("auth", "x", bytes("x2"))
        try store.erasePrefix("paxos")
        let entries = try snapshot.allEntries()
        #expect(entries.map(\.0) == [SyncKey(prefix: "auth", key: "x"), SyncKey(prefix: "paxos", key: "1")])
        #expect(entries.map(\.1) == [bytes("x1"), bytes("v1")])
        #expect(try store.snapshot(of: ["paxos", "auth"]).allEntries().map(\.1) == [bytes("x2")])
    }

    @Test(arguments: Backend.allCases)
    func chunksRespectByteAndKeyLimitsAndResumeStrictlyAfter(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        var transaction = StoreTransaction()
        for index in 0..<10 { transaction.put("svc", String(format: "%02d", index), [UInt8](repeating: UInt8(index), count: 100)) }
        transaction.put("svc", "05-huge", [UInt8](repeating: 7, count: 5000))
        try store.apply(transaction)
        let snapshot = try store.snapshot(of: ["svc"])

        // Key limit.
        let byKeys = try snapshot.chunk(after: .beginning, limits: ChunkLimits(maxBytes: 1 << 20, maxKeys: 3))
        #expect(byKeys.transaction.operations.map(\.key) == ["00", "01", "02"])
        #expect(byKeys.lastKey == SyncKey(prefix: "svc", key: "02"))
        #expect(!byKeys.isComplete)
        #expect(byKeys.encodedSize == byKeys.transaction.encodedSize)
        #expect(byKeys.encodedSize == byKeys.transaction.encoded().count)

        // Byte limit: each entry is 6+1+4+3+4+2+4+100 = 124 bytes, plus 10 for the transaction.
        let byBytes = try snapshot.chunk(after: byKeys.lastKey, limits: ChunkLimits(maxBytes: 10 + 124 * 2, maxKeys: 100))
        #expect(byBytes.transaction.operations.map(\.key) == ["03", "04"])
        #expect(byBytes.encodedSize <= 10 + 124 * 2)

        // An entry larger than the limit still goes, alone.
        let huge = try snapshot.chunk(after: byBytes.lastKey, limits: ChunkLimits(maxBytes: 200, maxKeys: 100))
        #expect(huge.transaction.operations.map(\.key) == ["05"])
        let alone = try snapshot.chunk(after: huge.lastKey, limits: ChunkLimits(maxBytes: 200, maxKeys: 100))
        #expect(alone.transaction.operations.map(\.key) == ["05-huge"])
        #expect(alone.encodedSize > 200)

        // The rest; the last chunk says it is complete, and an empty resume stays at its position.
        let rest = try snapshot.chunk(after: alone.lastKey)
        #expect(rest.transaction.operations.map(\.key) == ["06", "07", "08", "09"])
        #expect(rest.isComplete)
        let after = try snapshot.chunk(after: rest.lastKey)
        #expect(after.transaction.isEmpty && after.isComplete && after.lastKey == rest.lastKey)

        // Resuming after a key that does not exist starts at the next one; after a prefix's end, at the next prefix.
        #expect(try snapshot.chunk(after: SyncKey(prefix: "svc", key: "055"), limits: ChunkLimits(maxKeys: 1)).transaction.operations.map(\.key) == ["06"])
        #expect(try snapshot.chunk(after: SyncKey(prefix: "sva", key: "zz")).keyCount == 11)
        #expect(try snapshot.chunk(after: SyncKey(prefix: "svd", key: "")).keyCount == 0)
    }

    @Test(arguments: Backend.allCases)
    func chunkValuesRoundTripThroughTheirEncoding(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let written = try populate(test.store, prefixes: ["auth", "paxos"], count: 300, seed: 3)
        let chunk = try test.store.snapshot(of: ["auth", "paxos"]).chunk(after: .beginning, limits: ChunkLimits(maxKeys: 1000))
        #expect(chunk.isComplete)
        let decoded = try StoreTransaction(decoding: chunk.transaction.encoded())
        #expect(decoded == chunk.transaction)
        var seen: [SyncKey: [UInt8]] = [:]
        for case let .put(prefix, key, value) in decoded.operations { seen[SyncKey(prefix: prefix, key: key)] = Array(value) }
        #expect(seen == written)
    }

    @Test(arguments: Backend.allCases)
    func stagingLeavesLiveDataAloneUntilTheSwap(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        try store.put("paxos", "old", bytes("live"))
        try store.put("auth", "stale", bytes("live"))
        try store.put("local", "keep", bytes("not a target"))
        var bookkeeping = StoreTransaction()
        bookkeeping.setLatestMonmap(bytes("monmap"))
        bookkeeping.setLastCommittedFloor(2)
        try store.apply(bookkeeping)
        #expect(try store.lastCommittedFloor() == 2)

        #expect(try store.syncMarker() == nil)
        let marker = try store.beginStaging(targets: ["paxos", "auth", "osdmap"])
        #expect(marker.targets == ["auth", "osdmap", "paxos"])
        #expect(try store.syncMarker() == marker)

        var chunk = StoreTransaction()
        chunk.put("auth", "a", bytes("A"))
        chunk.put("paxos", "1", bytes("P1"))
        try store.stage(chunk)
        var second = StoreTransaction()
        second.put("paxos", "2", bytes("P2"))
        try store.stage(second)
        // Out-of-order and erase operations are still applied in order.
        var unordered = StoreTransaction()
        unordered.put("auth", "0", bytes("early"))
        unordered.erase("paxos", "2")
        unordered.put("paxos", "3", bytes("P3"))
        try store.stage(unordered)

        // Live data is untouched while staging.
        #expect(try store.get("paxos", "old") == bytes("live"))
        #expect(try store.get("paxos", "1") == nil)
        #expect(try store.snapshot(of: ["paxos", "auth"]).allEntries().count == 2)

        var epilogue = StoreTransaction()
        epilogue.setLastCommittedFloor(3)
        try store.commitStaging(applying: epilogue)

        #expect(try store.syncMarker() == nil)
        let entries = try store.snapshot(of: ["auth", "osdmap", "paxos"]).allEntries()
        #expect(entries.map(\.0) == [
            SyncKey(prefix: "auth", key: "0"), SyncKey(prefix: "auth", key: "a"),
            SyncKey(prefix: "paxos", key: "1"), SyncKey(prefix: "paxos", key: "3"),
        ])
        #expect(try store.get("paxos", "old") == nil)
        #expect(try store.get("local", "keep") == bytes("not a target"))
        #expect(try store.latestMonmap() == bytes("monmap"))
        #expect(try store.lastCommittedFloor() == 3)
        // Writes after the swap go to the new live data.
        try store.put("paxos", "4", bytes("P4"))
        #expect(try store.get("paxos", "4") == bytes("P4"))
        #expect(throws: StoreError.notStaging) { try store.commitStaging() }
    }

    @Test(arguments: Backend.allCases)
    func stagingRefusesWhatItMustNotTouch(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        var chunk = StoreTransaction()
        chunk.put("paxos", "1", [1])
        #expect(throws: StoreError.notStaging) { try store.stage(chunk) }
        #expect(throws: StoreError.protectedPrefix(StoreLayout.protectedPrefix)) {
            try store.beginStaging(targets: ["paxos", StoreLayout.protectedPrefix])
        }
        #expect(throws: StoreError.invalidArgument("a sync needs at least one target prefix")) { try store.beginStaging(targets: []) }
        try store.beginStaging(targets: ["auth"])
        #expect(throws: StoreError.notAStagingTarget("paxos")) { try store.stage(chunk) }
    }

    @Test(arguments: Backend.allCases)
    func abandonAndRestartDiscardTheStagedCopy(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        try store.put("paxos", "live", [0])
        let first = try store.beginStaging(targets: ["paxos"])
        var chunk = StoreTransaction()
        chunk.put("paxos", "partial", [1])
        try store.stage(chunk)
        try store.abandonStaging()
        #expect(try store.syncMarker() == nil)
        #expect(throws: StoreError.notStaging) { try store.stage(chunk) }

        // A new staging area starts empty, even after one that was begun and not finished.
        let second = try store.beginStaging(targets: ["paxos"])
        #expect(second.stagingID != first.stagingID)
        try store.stage(chunk)
        let third = try store.beginStaging(targets: ["paxos"])
        #expect(third.stagingID != second.stagingID)
        var other = StoreTransaction()
        other.put("paxos", "complete", [2])
        try store.stage(other)
        try store.commitStaging()
        #expect(try store.snapshot(of: ["paxos"]).allEntries().map(\.0.key) == ["complete"])
        try store.abandonStaging()
    }

    @Test(arguments: Backend.allCases)
    func digestIsStableAndSensitive(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let store = test.store
        var transaction = StoreTransaction()
        transaction.put("paxos", "1", [0xFF])
        transaction.put("auth", "k2", [UInt8]())
        transaction.put("auth", "k1", bytes("v1"))
        transaction.put("local", "ignored", bytes("not in the digest"))
        try store.apply(transaction)
        // sha256(u32le len ‖ bytes, for prefix, key and value of each entry in order); see docs/STORE.md.
        let digest = try store.digest(of: ["paxos", "auth"])
        #expect(digest.hex == "1d7467bc961a2fcd7bea879514fec99efea390761d46626cee6e72bc72aa93e1")
        #expect(digest.keyCount == 3)
        #expect(digest.byteCount == 4 + 2 + 2 + 4 + 2 + 5 + 1 + 1)
        try store.put("auth", "k2", [0])
        #expect(try store.digest(of: ["paxos", "auth"]) != digest)
        try store.put("auth", "k2", [UInt8]())
        #expect(try store.digest(of: ["paxos", "auth"]) == digest)
        // Moving a byte from key to value changes the digest (lengths are hashed).
        try store.erase("auth", "k1")
        try store.put("auth", "k", bytes("1v1"))
        #expect(try store.digest(of: ["paxos", "auth"]).sha256 != digest.sha256)
    }

    @Test(arguments: Backend.allCases)
    func paxosCommitWritesTheLogEntryAndAppliesTheTransaction(_ backend: Backend) throws {
        let test = try backend.makeStore()
        let log = PaxosLog(store: test.store)
        #expect(try log.firstCommitted() == 0 && log.lastCommitted() == 0)
        for version in UInt64(1)...12 {
            var transaction = StoreTransaction()
            transaction.put("osdmap", "epoch", uint64: version)
            transaction.put("osdmap", "full_\(version)", bytes("map \(version)"))
            try log.commit(version: version, transaction)
            #expect(try log.transaction(at: version) == transaction)
        }
        #expect(try log.firstCommitted() == 1 && log.lastCommitted() == 12)
        #expect(try test.store.getUInt64("osdmap", "epoch") == 12)
        #expect(throws: StoreError.invalidArgument("cannot commit version 14 after last_committed 12")) {
            try log.commit(version: 14, StoreTransaction())
        }
        try log.trim(to: 10)
        #expect(try log.firstCommitted() == 10)
        for version in UInt64(1)..<10 { #expect(try log.transaction(at: version) == nil) }
        for version in UInt64(10)...12 { #expect(try log.transaction(at: version) != nil) }
        #expect(throws: StoreError.invalidArgument("cannot trim to 13: retained versions are 10...12")) { try log.trim(to: 13) }
        // A corrupt log entry is a typed error.
        try test.store.put(PaxosLog.prefix, "11", [1, 1, 200, 0, 0, 0])
        #expect(throws: StoreError.corrupt(.truncated(needed: 200, offset: 6))) { try log.transaction(at: 11) }
        try test.store.put(PaxosLog.prefix, PaxosLog.lastCommittedKey, [1, 2, 3])
        #expect(throws: StoreError.malformedValue(prefix: "paxos", key: "last_committed")) { try log.lastCommitted() }
    }

    /// The same data in every backend has the same digest: the backends agree byte for byte.
    @Test func backendsAgreeOnContentAndDigest() throws {
        let stores = try Backend.allCases.map { try $0.makeStore() }
        for test in stores {
            try populate(test.store, prefixes: ["auth", "paxos", "osdmap", "local"], count: 2000, seed: 99)
            try test.store.erasePrefix("osdmap")
            try test.store.erase("auth", "k1-1")
        }
        let digests = try stores.map { try $0.store.digest(of: ["auth", "paxos", "osdmap"]) }
        #expect(Set(digests).count == 1)
        #expect(digests[0].keyCount > 1000)
    }
}
