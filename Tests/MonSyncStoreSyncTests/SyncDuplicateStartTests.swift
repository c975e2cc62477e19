import Clocks
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

/// A provider environment that commits one write to the provider's store the second time it is asked
/// whether it can serve: deterministically, between a START_CHUNKS and its duplicate.
///
/// Found by thinking through SyncChaosTests' duplicate faults: before the fix the provider restarted the
/// stream on the duplicate, from a snapshot taken after the write, under the same chunk numbers; the
/// requester (which cannot tell the two streams apart) took chunk 1-2 of the first and 3… of the second,
/// whose boundaries had moved, and finished "successfully" at version 101 without kv/key-00006-2.
struct WriteOnSecondStart: SyncProviderEnvironment {
    let store = LockedState<InMemoryStore?>(nil)
    let calls = LockedState(0)
    func canServeSync() async -> Bool {
        if calls.withLock({ $0 += 1; return $0 }) == 2, let store = store.withLock({ $0 }) {
            // Erases a key of the first window, so the next snapshot's chunk boundaries move.
            var erase = StoreTransaction()
            erase.erase("kv", "key-00002-0")
            try? PaxosLog(store: store).commit(version: 101, erase)
        }
        return true
    }
    func syncTargets() async -> [String] { ["kv", "paxos"] }
}

@Suite("Store sync: duplicated requests", .timeLimit(.minutes(1)))
struct SyncDuplicateStartTests {
    @Test("a duplicated START_CHUNKS does not restart the stream from a newer snapshot under the same chunk numbers")
    func duplicatedStartChunks() async throws {
        let network = LoopbackNetwork(seed: testSeed(10))
        let clock = TestClock()
        var config = SyncConfiguration()
        config.window = 2
        config.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 8)
        let environment = WriteOnSecondStart()
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: config,
                                                environment: environment)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        environment.store.withLock { $0 = provider.store }
        try commitVersions(1...100, to: [provider.store])
        // Every message from the requester arrives twice (acknowledgements are cumulative: harmless).
        network.setFaults(LoopbackFaults(duplicate: 1), from: requester.transport.localAddress, to: provider.transport.localAddress)
        let outcome = try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity],
                                                                 dispatcher: requester.dispatcher)
        #expect(network.statistics.duplicated > 0)
        // The duplicate is recognised as the running stream's request: no restart, so no write in between.
        await eventually("the provider saw the last acknowledgement") { await provider.provider.statistics.sessionsCompleted == 1 }
        let statistics = await provider.provider.statistics
        #expect(statistics.sessionsStarted == 1)
        #expect(statistics.staleMessages >= 1, "the duplicated START_CHUNKS is counted as stale")
        #expect(environment.calls.withLock { $0 } == 1)
        #expect(outcome.version == 100)
        #expect(try PaxosLog(store: provider.store).lastCommitted() == outcome.version)
        #expect(try requester.digest() == provider.digest(), "version \(outcome.version): the copy skipped or kept keys\(seedNote)")
        await provider.stop()
        await requester.stop()
    }

    @Test("a START_CHUNKS duplicated late, after its stream ended, opens no new session")
    func lateDuplicateAfterTheStreamEnded() async throws {
        let network = LoopbackNetwork(seed: testSeed(11))
        let clock = TestClock()
        var config = SyncConfiguration()
        config.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 8)
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: config)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try commitVersions(1...20, to: [provider.store])
        let outcome = try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity],
                                                                 dispatcher: requester.dispatcher)
        await eventually("the stream ended") { await provider.provider.activeSessions == 0 }
        let before = await provider.provider.statistics
        // The first stream's START_CHUNKS (a sync's streams number their chunks from 1), once more.
        let late = MMonSync(op: .startChunks, lastKey: .beginning, session: outcome.progress.session, sequence: 1,
                            window: UInt32(config.window))
        try await requester.dispatcher.send(late, to: provider.transport.localAddress)
        await eventually("the provider counted it") { await provider.provider.statistics.staleMessages > before.staleMessages }
        #expect(await provider.provider.activeSessions == 0)
        #expect(await provider.provider.statistics.sessionsStarted == before.sessionsStarted)
        // A new stream of the same session (a new first number) is still served.
        let restart = MMonSync(op: .startChunks, lastKey: .beginning, session: outcome.progress.session, sequence: 100,
                               window: UInt32(config.window))
        try await requester.dispatcher.send(restart, to: provider.transport.localAddress)
        await eventually("a new stream starts") { await provider.provider.statistics.sessionsStarted == before.sessionsStarted + 1 }
        await provider.stop()
        await requester.stop()
    }
}
