import MonSyncCore
import MonSyncMessages
import MonSyncStore
@testable import MonSyncStoreSync
import Testing

/// The requester and the providers, machines only, on the deterministic bench: what ends up in the
/// requester's store, under failovers, corruption, duplicates, reordering and restarts.
@Suite("Store sync: the copy")
struct SyncCopyTests {
    @Test("a requester copies a provider's store exactly, with a grant from the leader", arguments: [1, 8])
    func copiesExactly(window: Int) throws {
        let bench = SyncBench(providers: 2, leader: 0, configuration: SyncBench.configuration(window: window))
        try commitVersions(1...200, to: bench.nodes.map(\.store))
        try bench.requesterStore.put("kv", "stale", [1])
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.version == 200)
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[1].store))
        #expect(try bench.requesterStore.get("kv", "stale") == nil, "live data replaced by the copy")
        #expect(try PaxosLog(store: bench.requesterStore).lastCommitted() == 200)
        #expect(try bench.requesterStore.syncMarker() == nil, "the in-sync marker is cleared by the swap")
        #expect(outcome.progress.chunks > 10, "small chunk limits make many chunks")
        #expect(outcome.progress.providerSwitches == 0 && outcome.progress.staleMessages == 0)
        #expect(bench.nodes[1].provider.statistics.sessionsCompleted == 1, "the leader names a provider other than itself")
        #expect(bench.leader.statistics.accepted == 1 && bench.leader.statistics.finished == 1)
        #expect(bench.leader.grants.isEmpty && bench.leader.isHoldingTrim, "the finished sync's floor lingers")
    }

    @Test("a silent provider is replaced; the copy resumes after the last key and rolls forward to the newer version")
    func failoverRollsForward() throws {
        let bench = SyncBench(providers: 2)
        try commitVersions(1...150, to: bench.nodes.map(\.store))
        var chunks = 0
        bench.onDeliver = { message, _, _ in
            guard message.op == .chunk else { return }
            chunks += 1
            if chunks == 5 {
                bench.kill(0)
                try? commitVersions(151...170, to: bench.nodes.map(\.store))
            }
        }
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.version == 170)
        #expect(outcome.progress.providerSwitches == 1)
        #expect(bench.now >= bench.configuration.chunkTimeout, "replaced at the chunk deadline")
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[1].store),
                "keys from two snapshots, rolled forward to one version")
    }

    /// Regression (defect 1): after p1 (v150) dies mid-copy, p2, a lagging member at v120, served
    /// the rest from its v120 snapshot: keys up to the last one copied at v150, the others at
    /// v120, labelled v120. The requester now skips a provider whose snapshot is older than what
    /// it staged, and ends in exactly one version's state or not at all.
    @Test("failover never goes to an older snapshot: p1 (v150) dies, p2 (v120) is refused")
    func olderProviderRefused() throws {
        let bench = SyncBench(providers: 2)
        try commitVersions(1...120, to: bench.nodes.map(\.store))
        try commitVersions(121...150, to: [bench.nodes[0].store])
        try bench.requesterStore.put("kv", "live", [4, 2])
        let live = try bench.digest(bench.requesterStore)
        var chunks = 0
        bench.onDeliver = { message, _, _ in
            if message.op == .chunk { chunks += 1 }
            if chunks == 5 { bench.kill(0) }
        }
        let result = bench.run()
        guard case let .failure(failure)? = result else { Issue.record("a copy mixing v150 and v120 was kept: \(String(describing: result))"); return }
        guard case .tooManyProviderSwitches = failure else { Issue.record("\(failure)"); return }
        #expect(bench.nodes[1].provider.statistics.chunksSent > 0, "p2 was asked and answered")
        #expect(try bench.digest(bench.requesterStore) == live, "live data untouched")
        #expect(try bench.requesterStore.syncMarker() == nil)
    }

    @Test("three providers v100 → v150 → v120 → v160: the v120 one is skipped; the copy is exactly v160's state")
    func providerChain() throws {
        let bench = SyncBench(providers: 4)
        try commitVersions(1...100, to: bench.nodes.map(\.store))
        try commitVersions(101...120, to: [1, 2, 3].map { bench.nodes[$0].store })
        try commitVersions(121...150, to: [1, 3].map { bench.nodes[$0].store })
        try commitVersions(151...160, to: [bench.nodes[3].store])
        var chunks = 0
        bench.onDeliver = { message, sender, _ in
            guard message.op == .chunk else { return }
            chunks += 1
            if sender == bench.nodes[0].address, chunks == 4 { bench.kill(0) }
            if sender == bench.nodes[1].address, chunks >= 10 { bench.kill(1) }
        }
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.version == 160)
        #expect(outcome.progress.providerSwitches == 3, "p0 died, p1 died, p2 is older than what was staged")
        #expect(try bench.requesterStore.digest(of: ["kv"]) == SyncBench.kvState(at: 160))
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[3].store))
    }

    /// Regression (defect 11, suspected): a provider that restarted answered a duplicated
    /// START_CHUNKS with a newer snapshot under chunk numbers the requester still accepted.
    @Test("a provider restarted mid-stream serves a newer snapshot under the same chunk numbers: refused, keys never skipped")
    func snapshotVersionChangesWithinStream() throws {
        let bench = SyncBench(providers: 2)
        try commitVersions(1...150, to: bench.nodes.map(\.store))
        var startChunks: MMonSync?
        var chunks = 0
        bench.onDeliver = { message, sender, destination in
            if message.op == .startChunks, destination == bench.nodes[0].address, startChunks == nil { startChunks = message }
            guard message.op == .chunk, sender == bench.nodes[0].address else { return }
            chunks += 1
            if chunks == 3, let original = startChunks {
                // p0 restarts, the cluster moves on, and the network delivers the first START_CHUNKS again.
                bench.restart(0)
                try? commitVersions(151...160, to: bench.nodes.map(\.store))
                bench.send(original, from: bench.requesterAddress, to: bench.nodes[0].address)
            }
        }
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.progress.providerSwitches >= 1, "the changed snapshot version was noticed")
        #expect(try bench.requesterStore.digest(of: ["kv"]) == SyncBench.kvState(at: outcome.version))
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[1].store))
    }

    /// Regression (defect 9, suspected): the `last_committed` floor was never written.
    @Test("the floor: raised to the requester's own last_committed when staging begins; a provider below it is refused")
    func floor() throws {
        let store = InMemoryStore()
        try commitVersions(1...130, to: [store])
        let bench = SyncBench(providers: 2, requesterStore: store, floor: 130)
        try commitVersions(1...120, to: [bench.nodes[0].store])
        try commitVersions(1...150, to: [bench.nodes[1].store])
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(try store.lastCommittedFloor() == 130, "written durably, where no swap touches it")
        #expect(outcome.version == 150 && outcome.progress.providerSwitches == 1)
        #expect(bench.nodes[0].provider.statistics.chunksSent >= 1, "p0 (v120) answered and was refused")
        #expect(try bench.digest(store) == bench.digest(bench.nodes[1].store))
    }

    @Test("a chunk that fails its CRC is refused and the next provider serves")
    func corruptChunk() throws {
        let bench = SyncBench(providers: 2)
        try commitVersions(1...80, to: bench.nodes.map(\.store))
        var corrupted = false
        bench.filter = { message, sender, destination in
            guard !corrupted, message.op == .chunk, message.sequence == 3 else { return .deliver }
            corrupted = true
            var bad = message
            bad.chunk[bad.chunk.startIndex + 7] ^= 0xFF
            bench.queue.append((bad, sender, destination))
            return .drop
        }
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.progress.corruptChunks == 1 && outcome.progress.providerSwitches == 1)
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[0].store))
    }

    @Test("duplicated and delayed messages are dropped as stale or restart the stream; the copy is exact", arguments: [1, 2, 3])
    func duplicatesAndReordering(seed: UInt64) throws {
        let bench = SyncBench(providers: 2, leader: 1)
        try commitVersions(1...120, to: bench.nodes.map(\.store))
        var random = SeededRandomNumberGenerator(seed: seed)
        bench.filter = { _, _, _ in
            switch random.next() % 20 {
            case 0: .duplicate
            case 1: .delay
            default: .deliver
            }
        }
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.version == 120)
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[0].store))
    }

    @Test("a busy provider answers RETRY and the requester moves on")
    func busyProvider() throws {
        var configuration = SyncBench.configuration()
        configuration.maxProviderSessions = 0
        let bench = SyncBench(providers: 2, configuration: configuration)
        bench.nodes[1].provider = SyncProviderMachine(store: bench.nodes[1].store, configuration: SyncBench.configuration(), logger: quietLogger)
        try commitVersions(1...60, to: bench.nodes.map(\.store))
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(outcome.progress.retries == 1)
        #expect(bench.nodes[0].provider.statistics.refusedBusy == 1)
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[1].store))
    }

    @Test("providers that cannot serve refuse; the sync fails with live data untouched and the staging area gone")
    func cannotServe() throws {
        let bench = SyncBench(providers: 2)
        try commitVersions(1...60, to: bench.nodes.map(\.store))
        for index in bench.nodes.indices { bench.nodes[index].serving = false }
        try bench.requesterStore.put("kv", "live", [9])
        guard case let .failure(failure)? = bench.run(), case .tooManyProviderSwitches = failure else {
            Issue.record("\(String(describing: bench.result))")
            return
        }
        #expect(bench.nodes.map(\.provider.statistics.refusedCannotServe).reduce(0, +) == bench.configuration.maxProviderSwitches + 1)
        #expect(try bench.requesterStore.get("kv", "live") == [9], "live data untouched by a failed sync")
        #expect(try bench.requesterStore.syncMarker() == nil, "the staging area is abandoned")
    }

    @Test("a provider forgets the session of a requester that went away, at its timeout")
    func providerSessionExpires() throws {
        let bench = SyncBench(providers: 1)
        try commitVersions(1...60, to: bench.nodes.map(\.store))
        // The requester falls silent after two chunks (it died): its acks and its ABORT are lost.
        bench.filter = { _, sender, _ in
            sender == bench.requesterAddress && bench.delivered.filter { $0.op == .chunk }.count >= 2 ? .drop : .deliver
        }
        _ = bench.run()
        #expect(bench.nodes[0].provider.activeSessions == 0)
        #expect(bench.nodes[0].provider.statistics.sessionsExpired == 1)
        #expect(bench.nodes[0].provider.statistics.sessionsAborted == 0)
    }
}
