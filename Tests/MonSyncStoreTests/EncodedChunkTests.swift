import MonSyncCore
import MonSyncMessages
import MonSyncStore
import PropertyBased
import Testing

/// The sync's copy-free paths agree with the materialising ones: a provider's directly
/// encoded chunk is byte for byte the encoded transaction, and a requester staging an
/// encoding in place ends with exactly what staging the decoded transaction gives.
@Suite("Encoded chunks and transactions")
struct EncodedChunkTests {
    /// The operations an encoded transaction's walk visits, materialised.
    static func walked(_ bytes: [UInt8]) throws(StoreError) -> [StoreTransaction.Operation] {
        var operations: [StoreTransaction.Operation] = []
        let encoded = try EncodedTransaction(bytes[...])
        try encoded.forEach { (operation: EncodedOperation) throws(StoreError) in operations.append(operation.materialized) }
        #expect(operations.count == encoded.count)
        return operations
    }

    @Test func theWalkSeesWhatTheDecoderSees() throws {
        let encoded = TransactionCodecTests.example.encoded()
        #expect(try Self.walked(encoded) == TransactionCodecTests.example.operations)
        #expect(try Self.walked(StoreTransaction().encoded()).isEmpty)
    }

    @Test func theWalkRefusesWhatTheDecoderRefuses() async {
        let bytesGen = Gen.uint8().array(of: 0...40)
        await propertyCheck(count: 400, input: Gen.uint64(), bytesGen) { seed, garbage in
            var random = SeededRandomNumberGenerator(seed: seed)
            var transaction = StoreTransaction()
            for _ in 0..<Int(random.next() % 8) {
                let prefix = ["paxos", "auth", "ü", "x y"][Int(random.next() % 4)]
                let key = random.next() % 7 == 0 ? "ké\(random.next() % 10)" : String(random.next() % 1000)
                switch random.next() % 3 {
                case 0: transaction.put(prefix, key, garbage)
                case 1: transaction.erase(prefix, key)
                default: transaction.erasePrefix(prefix)
                }
            }
            var mutated = transaction.encoded()
            let operations = try Self.walked(mutated)
            #expect(operations == transaction.operations)
            // One flipped byte: both accept the same operations, or both refuse with the same error.
            let index = Int(random.next() % UInt64(mutated.count))
            mutated[index] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            for input in [mutated, garbage, Array(mutated.prefix(index))] {
                let decoded = Result { () throws(StoreError) in try StoreTransaction(decoding: input).operations }
                let walked = Result { () throws(StoreError) in try Self.walked(input) }
                #expect(decoded == walked, "input \(hex(input))")
            }
        }
    }

    /// A snapshot's encoded chunks, pulled with random limits, equal its materialised chunks.
    static func checkEncodedChunks(_ backend: Backend, seed: UInt64) throws {
        let test = try backend.makeStore()
        var random = SeededRandomNumberGenerator(seed: seed)
        let prefixes = ["auth", "logm", "paxos", "paxo", "z"]
        try populate(test.store, prefixes: prefixes + ["local"], count: Int(random.next() % 300), seed: random.next(), maxValue: 600)
        let snapshot = try test.store.snapshot(of: prefixes)
        var position = SyncKey.beginning
        var chunks = 0
        while true {
            let limits = ChunkLimits(maxBytes: 1 + Int(random.next() % 4000), maxKeys: 1 + Int(random.next() % 50))
            // Alternate which path runs first, so both continue a parked scan and both start afresh.
            let encoded: EncodedStoreChunk, chunk: StoreChunk
            if random.next() % 2 == 0 {
                encoded = try snapshot.encodedChunk(after: position, limits: limits)
                chunk = try snapshot.chunk(after: position, limits: limits)
            } else {
                chunk = try snapshot.chunk(after: position, limits: limits)
                encoded = try snapshot.encodedChunk(after: position, limits: limits)
            }
            #expect(encoded.bytes == chunk.transaction.encoded())
            #expect(encoded.bytes.count == chunk.encodedSize)
            #expect(encoded.keyCount == chunk.keyCount)
            #expect(encoded.lastKey == chunk.lastKey)
            #expect(encoded.isComplete == chunk.isComplete)
            position = encoded.lastKey
            chunks += 1
            if encoded.isComplete { break }
            #expect(chunks < 10_000)
        }
    }

    @Test(arguments: Backend.allCases)
    func encodedChunksAreTheEncodedTransactions(_ backend: Backend) async {
        await propertyCheck(count: backend == .memory ? 60 : 25, input: Gen.uint64()) { seed in
            try Self.checkEncodedChunks(backend, seed: seed)
        }
    }

    @Test(arguments: Backend.allCases)
    func stagingAnEncodingEqualsStagingItsTransaction(_ backend: Backend) throws {
        let source = try backend.makeStore()
        let expected = try populate(source.store, prefixes: ["auth", "paxos"], count: 500, seed: 11, maxValue: 300)
        let snapshot = try source.store.snapshot(of: ["auth", "paxos"])
        let byTransaction = try backend.makeStore(), byEncoding = try backend.makeStore()
        _ = try byTransaction.store.beginStaging(targets: ["auth", "paxos"])
        _ = try byEncoding.store.beginStaging(targets: ["auth", "paxos"])
        var position = SyncKey.beginning
        var staged = 0
        while true {
            let chunk = try snapshot.encodedChunk(after: position, limits: ChunkLimits(maxBytes: 2000, maxKeys: 40))
            try byTransaction.store.stage(StoreTransaction(decoding: chunk.bytes))
            staged += try byEncoding.store.stage(encoded: EncodedTransaction(chunk.bytes[...]))
            position = chunk.lastKey
            if chunk.isComplete { break }
        }
        #expect(staged == expected.count)
        try byTransaction.store.commitStaging()
        try byEncoding.store.commitStaging()
        let digest = try source.store.digest(of: ["auth", "paxos"])
        #expect(try byEncoding.store.digest(of: ["auth", "paxos"]) == digest)
        #expect(try byTransaction.store.digest(of: ["auth", "paxos"]) == digest)
    }

    /// Keys that go backwards (a replayed Paxos version after the stream), overwrites and
    /// erases inside encoded chunks end as they do when the transactions are staged.
    @Test(arguments: Backend.allCases)
    func outOfOrderKeysAndErasesInEncodedChunks(_ backend: Backend) throws {
        var chunks: [StoreTransaction] = []
        var first = StoreTransaction()
        for index in 0..<300 { first.put("paxos", String(format: "%05d", index), [UInt8(truncatingIfNeeded: index)]) }
        chunks.append(first)
        var backwards = StoreTransaction()
        backwards.put("auth", "a", [1])
        backwards.put("paxos", "00007", [7, 7])  // overwrite, behind the last key written
        backwards.put("paxos", "00003", [3, 3])
        chunks.append(backwards)
        var mixed = StoreTransaction()
        mixed.put("paxos", "99999", [9])
        mixed.erase("paxos", "00004")
        mixed.put("paxos", "00004", [4, 4, 4])
        mixed.erasePrefix("auth")
        mixed.put("auth", "b", [2])
        chunks.append(mixed)
        let byTransaction = try backend.makeStore(), byEncoding = try backend.makeStore()
        for test in [byTransaction, byEncoding] { _ = try test.store.beginStaging(targets: ["auth", "paxos"]) }
        for chunk in chunks {
            try byTransaction.store.stage(chunk)
            #expect(try byEncoding.store.stage(encoded: EncodedTransaction(chunk.encoded()[...])) == chunk.count)
        }
        for test in [byTransaction, byEncoding] { try test.store.commitStaging() }
        #expect(try byEncoding.store.digest(of: ["auth", "paxos"]) == byTransaction.store.digest(of: ["auth", "paxos"]))
        #expect(try byEncoding.store.get("paxos", "00007") == [7, 7])
        #expect(try byEncoding.store.get("paxos", "00004") == [4, 4, 4])
        #expect(try byEncoding.store.get("auth", "a") == nil)
        #expect(try byEncoding.store.get("auth", "b") == [2])
    }

    /// A snapshot's size estimate (the provider's `estimated_bytes`, a requester's ETA): exact
    /// in memory; from file sizes in RocksDB, so checked on a store whose data is in SST files
    /// (a synced copy, ingested), within a factor that allows for block overhead.
    @Test(arguments: [Backend.memory, Backend.rocksDB])
    func snapshotsEstimateTheirSize(_ backend: Backend) throws {
        let source = InMemoryStore()
        var random = SeededRandomNumberGenerator(seed: 5)
        var transaction = StoreTransaction()
        for index in 0..<4000 { transaction.put("kv", String(format: "key-%06d", index), random.bytes(count: 500)) }
        try PaxosLog(store: source).commit(version: 1, transaction)
        let targets = ["kv", "paxos"]
        let snapshot = try source.snapshot(of: targets)
        var encoded: UInt64 = 0
        var position = SyncKey.beginning
        let copy = try backend.makeStore()
        _ = try copy.store.beginStaging(targets: targets)
        while true {
            let chunk = try snapshot.encodedChunk(after: position)
            encoded += UInt64(chunk.bytes.count - 10)
            try copy.store.stage(encoded: EncodedTransaction(chunk.bytes[...]))
            position = chunk.lastKey
            if chunk.isComplete { break }
        }
        try copy.store.commitStaging()
        #expect(snapshot.estimatedSize == encoded, "in memory: the entries' encoded size")
        let estimate = try copy.store.snapshot(of: targets).estimatedSize
        switch backend {
        case .memory: #expect(estimate == encoded)
        default: #expect(estimate > encoded / 2 && estimate < encoded * 2, "estimate \(estimate) for \(encoded) bytes")
        }
    }

    @Test(arguments: Backend.allCases)
    func anEncodedChunkNamingAnotherPrefixStagesNothing(_ backend: Backend) throws {
        let test = try backend.makeStore()
        _ = try test.store.beginStaging(targets: ["auth"])
        var transaction = StoreTransaction()
        transaction.put("auth", "a", [1])
        transaction.put("osdmap", "b", [2])
        #expect(throws: StoreError.notAStagingTarget("osdmap")) {
            try test.store.stage(encoded: EncodedTransaction(transaction.encoded()[...]))
        }
        try test.store.commitStaging()
        #expect(try test.store.get("auth", "a") == nil)
    }
}
