import MonSyncCore
import MonSyncMessages
import MonSyncStore
import PropertyBased
import Testing

/// Resume-after-key: any sequence of resumed chunk iterations sees every key exactly once.
@Suite("Chunk resume properties")
struct ResumePropertyTests {
    /// Pulls the snapshot chunk by chunk with random limits, writing to the store
    /// between chunks, and sometimes restarting from a *new* snapshot at the last key
    /// (a provider failover). Checks each key is seen once and in order, and that each
    /// key's value is the one of the snapshot it came from.
    static func check(_ backend: Backend, seed: UInt64) throws {
        let test = try backend.makeStore()
        let store = test.store
        var random = SeededRandomNumberGenerator(seed: seed)
        let prefixes = ["auth", "logm", "paxos", "paxo", "z"]
        let count = Int(random.next() % 400)
        try populate(store, prefixes: prefixes + ["local"], count: count, seed: random.next(), maxValue: 600)

        var snapshot = try store.snapshot(of: prefixes)
        var expected = Dictionary(uniqueKeysWithValues: try snapshot.allEntries().map { ($0.0, $0.1) })
        var position = SyncKey.beginning
        var seen: [SyncKey] = []
        var rounds = 0
        while true {
            rounds += 1
            let limits = ChunkLimits(maxBytes: 1 + Int(random.next() % 4000), maxKeys: 1 + Int(random.next() % 50))
            let chunk = try snapshot.chunk(after: position, limits: limits)
            for operation in chunk.transaction.operations {
                guard case let .put(prefix, key, value) = operation else { Issue.record("chunk carried \(operation)"); continue }
                let position = SyncKey(prefix: prefix, key: key)
                #expect(expected[position] == Array(value), "value of \(position) is not the snapshot's")
                seen.append(position)
            }
            if !chunk.transaction.isEmpty {
                #expect(chunk.transaction.count <= limits.maxKeys)
                #expect(chunk.transaction.count == 1 || chunk.encodedSize <= limits.maxBytes)
            }
            position = chunk.lastKey
            if chunk.isComplete { break }
            // Writes land during the iteration: new keys, overwrites, erases, erased prefixes.
            var writes = StoreTransaction()
            for _ in 0..<Int(random.next() % 6) {
                let prefix = prefixes[Int(random.next() % UInt64(prefixes.count))]
                switch random.next() % 10 {
                case 0: writes.erasePrefix(prefix)
                case 1...3: writes.erase(prefix, "k\(random.next() % 100_000)")
                default: writes.put(prefix, "k\(random.next() % 100_000)-new", [UInt8(truncatingIfNeeded: random.next())])
                }
            }
            try store.apply(writes)
            // Sometimes the requester fails over to a provider with a newer snapshot.
            if random.next() % 5 == 0 {
                snapshot = try store.snapshot(of: prefixes)
                // Keys up to the position came from the old snapshot; the rest must come from the new one.
                expected = expected.filter { !(position < $0.key) }
                for (key, value) in try snapshot.allEntries() where position < key { expected[key] = value }
            }
            #expect(rounds < 10_000)
        }
        // Strictly increasing (so no key twice) and nothing missing from what was live when each part was read.
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Set(seen) == Set(expected.keys))
    }

    @Test(arguments: Backend.allCases)
    func everyKeyExactlyOnceAcrossResumedIterations(_ backend: Backend) async {
        await propertyCheck(count: backend == .memory ? 60 : 25, input: Gen.uint64()) { seed in
            try Self.check(backend, seed: seed)
        }
    }
}
