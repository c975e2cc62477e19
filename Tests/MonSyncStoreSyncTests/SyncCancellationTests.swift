import Clocks
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

@Suite("Store sync: stopping a sync", .timeLimit(.minutes(1)))
struct SyncCancellationTests {
    /// A monitor shutting down cancels its sync; the requester must not first sit out the chunk
    /// timeout (the test clock never reaches it here), and live data must be untouched.
    @Test("cancelling a sync that waits for a chunk ends it at once, with live data unchanged")
    func cancelWhileWaitingForAChunk() async throws {
        let network = LoopbackNetwork(seed: testSeed(41))
        let clock = TestClock()
        var configuration = SyncConfiguration()
        configuration.window = 2
        configuration.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 64)
        configuration.chunkTimeout = .seconds(3600)
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: configuration)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: configuration)
        try commitVersions(1...100, to: [provider.store])
        try requester.store.put("kv", "live", [4, 2])
        let before = try requester.digest()

        let sync = Task {
            try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity], dispatcher: requester.dispatcher)
        }
        await eventually("some chunks arrive") { requester.requester.progress.chunks >= 3 }
        network.setFaults(LoopbackFaults(drop: 1), from: provider.transport.localAddress, to: requester.transport.localAddress)
        await eventually("the requester waits for a chunk") { await settledWaiting(requester) }

        sync.cancel()
        // A watchdog on the real clock: the test clock is never advanced, so only cancellation can end the wait.
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = await sync.result; return true }
            group.addTask {
                try? await ContinuousClock().sleep(for: .seconds(10))
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        #expect(ended, "the cancelled sync was still waiting for its chunk")
        if ended {
            let result = await sync.result
            guard case let .failure(error) = result, let failure = error as? SyncFailure, case .cancelled = failure else {
                Issue.record("expected SyncFailure.cancelled, got \(result)")
                return
            }
        }
        #expect(requester.requester.progress.providerSwitches == 0, "a stop is not a provider failure")
        #expect(try requester.digest() == before, "live data untouched")
        #expect(try requester.store.syncMarker() == nil, "the staging area is abandoned")
        await provider.stop()
        await requester.stop()
    }
}
