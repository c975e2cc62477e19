import Dispatch
import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync
import MonSyncTestSupport
import Testing

/// A snapshot that counts its scans and can hold them at a gate until released: the reads a
/// ``ReadAheadSnapshot`` makes on its reader thread, observed from the test.
final class GatedSnapshot: StoreSnapshot {
    let base: any StoreSnapshot
    private let gate: ReadGate
    init(base: any StoreSnapshot, gate: ReadGate) {
        self.base = base
        self.gate = gate
    }

    var prefixes: [String] { base.prefixes }
    var estimatedSize: UInt64 { base.estimatedSize }

    func scan(after position: SyncKey, _ visit: (StoreEntryView) throws(StoreError) -> Bool) throws(StoreError) -> Bool {
        gate.pass(position)
        if let failure = gate.failure(at: position) { throw failure }
        return try base.scan(after: position, visit)
    }
}

/// Where ``GatedSnapshot``s wait: closed, a scan from a chunk position blocks until ``open()``.
final class ReadGate: Sendable {
    private struct State {
        var open = true
        var scans: [SyncKey] = []
        var blocked = 0
        var failAt: SyncKey?
        var gaveUp = 0
    }

    /// Seconds a scan waits at the closed gate before it goes on anyway (counted in ``gaveUp``).
    static let patience = 5

    private let state = LockedState(State())
    private let opened = DispatchSemaphore(value: 0)

    init(open: Bool = true) { state.withLock { $0.open = open } }

    /// The positions scanned so far, in order.
    var scans: [SyncKey] { state.withLock { $0.scans } }
    /// Scans that waited ``patience`` seconds and went on without the gate opening.
    var gaveUp: Int { state.withLock { $0.gaveUp } }
    /// Scans waiting at the closed gate now.
    var blocked: Int { state.withLock { $0.blocked } }

    /// Makes later chunk reads wait.
    func close() { state.withLock { $0.open = false } }

    /// Lets every waiting scan and every later one through.
    func open() {
        let waiting = state.withLock { state -> Int in
            state.open = true
            return state.blocked
        }
        for _ in 0..<waiting { opened.signal() }
    }

    /// Makes the scan from `position` fail.
    func fail(at position: SyncKey) { state.withLock { $0.failAt = position } }

    func failure(at position: SyncKey) -> StoreError? {
        state.withLock { $0.failAt == position ? StoreError.backend("injected read failure") : nil }
    }

    /// Records the scan; a chunk read (not the Paxos log's, which the provider reads when a
    /// session opens) waits while the gate is closed.
    func pass(_ position: SyncKey) {
        let wait = state.withLock { state -> Bool in
            state.scans.append(position)
            guard !state.open, position.prefix != PaxosLog.prefix else { return false }
            state.blocked += 1
            return true
        }
        guard wait else { return }
        // Never forever: a test that went wrong (an executor blocked here) must fail, not hang.
        let timedOut = opened.wait(timeout: .now() + .seconds(Self.patience)) == .timedOut
        state.withLock { state in
            state.blocked -= 1
            if timedOut { state.gaveUp += 1 }
        }
    }
}

@Suite("The sync provider's read-ahead: chunks read off the monitor's executor", .timeLimit(.minutes(1)))
struct ReadAheadSnapshotTests {
    private func store(keys: Int) throws -> InMemoryStore {
        let store = InMemoryStore()
        var transaction = StoreTransaction()
        for index in 0..<keys { transaction.put("kv", "key-\(1000 + index)", Array(repeating: UInt8(index % 251), count: 100)) }
        try store.apply(transaction)
        return store
    }

    /// Small chunks: 300 entries make about 15.
    private let limits = ChunkLimits(maxBytes: 2048, maxKeys: 1000)

    /// A read-ahead snapshot of `store`'s `kv` prefix through `gate`, and its count of wake-ups.
    private func readAhead(_ store: InMemoryStore, gate: ReadGate) throws -> (ReadAheadSnapshot, LockedState<Int>) {
        let wakes = LockedState(0)
        let snapshot = ReadAheadSnapshot(base: GatedSnapshot(base: try store.snapshot(of: ["kv"]), gate: gate),
                                         reader: SnapshotReader()) { wakes.withLock { $0 += 1 } }
        return (snapshot, wakes)
    }

    /// Takes chunks as a provider does: asks, and on `nil` waits for the wake-up, then asks again.
    private func drain(_ snapshot: ReadAheadSnapshot, wakes: LockedState<Int>) async throws -> [EncodedStoreChunk] {
        var chunks: [EncodedStoreChunk] = []
        var position = SyncKey.beginning
        while true {
            let before = wakes.withLock { $0 }
            if let chunk = try snapshot.readyChunk(after: position, limits: limits) {
                chunks.append(chunk)
                if chunk.isComplete { return chunks }
                position = chunk.lastKey
            } else {
                try await eventually("the chunk after \(position) is read") { wakes.withLock { $0 } > before }
            }
        }
    }

    @Test("the chunks are the ones read directly, byte for byte; the first is not ready, and a wake-up says when it is")
    func sameChunks() async throws {
        let store = try store(keys: 300)
        let direct = try store.snapshot(of: ["kv"])
        var expected: [EncodedStoreChunk] = []
        var position = SyncKey.beginning
        while true {
            let chunk = try direct.encodedChunk(after: position, limits: limits)
            expected.append(chunk)
            if chunk.isComplete { break }
            position = chunk.lastKey
        }
        #expect(expected.count > 10)

        let gate = ReadGate(open: false)
        let (snapshot, wakes) = try readAhead(store, gate: gate)
        // Nothing read yet: no chunk, and the read waits (on the reader thread, not here).
        #expect(try snapshot.readyChunk(after: .beginning, limits: limits) == nil)
        try await eventually("the reader is at the gate") { gate.blocked == 1 }
        #expect(wakes.withLock { $0 } == 0)
        gate.open()
        let chunks = try await drain(snapshot, wakes: wakes)
        #expect(chunks == expected)
        #expect(wakes.withLock { $0 } >= 1)
    }

    @Test("it reads at most four chunks ahead of the provider, each from where the last ended")
    func boundedReadAhead() async throws {
        let store = try store(keys: 300)
        let gate = ReadGate()
        let (snapshot, _) = try readAhead(store, gate: gate)
        #expect(try snapshot.readyChunk(after: .beginning, limits: limits) == nil)
        try await eventually("four chunks read ahead") { gate.scans.count == ReadAheadSnapshot.depth }
        // Nobody takes them: no fifth read.
        try await Task.sleep(for: .milliseconds(100))
        #expect(gate.scans.count == ReadAheadSnapshot.depth)
        let first = try #require(try snapshot.readyChunk(after: .beginning, limits: limits))
        try await eventually("one more read once one was taken") { gate.scans.count == ReadAheadSnapshot.depth + 1 }
        #expect(gate.scans.first == .beginning && gate.scans[1] == first.lastKey)
    }

    @Test("a provider that asks from elsewhere gets the chunk from there; a failed read is thrown to it")
    func restartAndFailure() async throws {
        let store = try store(keys: 300)
        let gate = ReadGate()
        let (snapshot, _) = try readAhead(store, gate: gate)
        _ = try snapshot.readyChunk(after: .beginning, limits: limits)
        try await eventually("read ahead from the beginning") { gate.scans.count == ReadAheadSnapshot.depth }
        // A resume from a later key: what was read ahead is discarded, and the chunk comes from
        // there. The read after it will fail.
        let resume = SyncKey(prefix: "kv", key: "key-1150")
        let direct = try store.snapshot(of: ["kv"]).encodedChunk(after: resume, limits: limits)
        gate.fail(at: direct.lastKey)
        var chunk: EncodedStoreChunk?
        try await eventually("the chunk after the resume point") {
            chunk = try snapshot.readyChunk(after: resume, limits: limits)
            return chunk != nil
        }
        #expect(chunk == direct)
        // The read that failed is handed to the provider as the error.
        var failure: StoreError?
        try await eventually("the failed read is reported") {
            do throws(StoreError) { _ = try snapshot.readyChunk(after: direct.lastKey, limits: limits) } catch { failure = error }
            return failure != nil
        }
        #expect(failure == .backend("injected read failure"))
    }
}

/// A store whose snapshots are ``GatedSnapshot``s: every other call goes straight to `base`.
final class GatedStore: MonitorStore {
    let base: InMemoryStore
    let gate: ReadGate
    init(base: InMemoryStore, gate: ReadGate) {
        self.base = base
        self.gate = gate
    }

    func get(_ prefix: String, _ key: String) throws(StoreError) -> [UInt8]? { try base.get(prefix, key) }
    func exists(_ prefix: String, _ key: String) throws(StoreError) -> Bool { try base.exists(prefix, key) }
    func apply(_ transaction: StoreTransaction) throws(StoreError) { try base.apply(transaction) }
    func snapshot(of prefixes: [String]) throws(StoreError) -> any StoreSnapshot {
        GatedSnapshot(base: try base.snapshot(of: prefixes), gate: gate)
    }
    func beginStaging(targets: [String]) throws(StoreError) -> SyncMarker { try base.beginStaging(targets: targets) }
    func stage(_ chunk: StoreTransaction) throws(StoreError) { try base.stage(chunk) }
    func commitStaging(applying transaction: StoreTransaction) throws(StoreError) { try base.commitStaging(applying: transaction) }
    func abandonStaging() throws(StoreError) { try base.abandonStaging() }
}

@Suite("A provider's chunk reads do not hold up Paxos", .timeLimit(.minutes(2)))
struct ProviderReadsOffExecutorTests {
    @Test("while a provider's chunk read is stuck in the store, the cluster still commits writes; once it moves, the sync completes")
    func writesCommitWhileAChunkReadIsStuck() async throws {
        var sync = SyncConfiguration()
        sync.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 32)
        let cluster = try MonitorCluster(seed: testSeed(61), syncConfiguration: sync, monitorSeed: { testSeed(UInt64($0)) },
                                         clientIDBase: 0xC1_0000, defaultLimit: .seconds(120))
        // a and b (either may be asked to provide) read their snapshots through one gate.
        let gate = ReadGate()
        try await cluster.start(0, store: GatedStore(base: cluster.stores[0], gate: gate))
        try await cluster.start(1, store: GatedStore(base: cluster.stores[1], gate: gate))
        try await cluster.run(until: "quorum of a and b") { await cluster.inQuorum([0, 1]) }
        let client = try await cluster.client()
        for index in 0..<60 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index), count: 200)) }
        }
        try await cluster.run(until: "trimmed") { await cluster.monitor(0)!.firstCommitted > 1 }

        // c must sync; its provider's first chunk read sticks at the closed gate.
        gate.close()
        defer { gate.open() }  // never leave a reader blocked, whatever fails below
        try await cluster.start(2)
        try await cluster.run(until: "a provider's chunk read is stuck") { gate.blocked == 1 }
        // The provider (a or b) is needed for every commit of a two-monitor quorum: before its
        // reads moved to their own thread, its executor stood in the store and no write committed.
        for index in 60..<65 {
            _ = try await cluster.perform { try await client.put("key-\(index)", [UInt8(index)]) }
        }
        #expect(gate.blocked == 1 && gate.gaveUp == 0, "the read is still stuck: the writes committed around it")
        gate.open()
        try await cluster.run(until: "c synced and in quorum", within: .seconds(300)) { await cluster.inQuorum([0, 1, 2]) }
        let targets = cluster.monitor(0)!.syncTargetNames
        try await cluster.run(until: "equal stores at one version") {
            let versions = [await cluster.monitor(0)!.lastCommitted, await cluster.monitor(1)!.lastCommitted,
                            await cluster.monitor(2)!.lastCommitted]
            guard Set(versions).count == 1,
                  let digests = try? [0, 1, 2].map({ try cluster.stores[$0].digest(of: targets) }) else { return false }
            return Set(digests).count == 1
        }
        #expect(try cluster.stores[2].get("kv", "key-64") == [64])
        await client.shutdown()
        await cluster.stopAll()
    }
}
