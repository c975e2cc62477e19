import Clocks
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

@Suite("Store sync: provider and requester streaming", .timeLimit(.minutes(3)))
struct SyncStreamingTests {
    func configuration(window: Int) -> SyncConfiguration {
        var configuration = SyncConfiguration()
        configuration.window = window
        configuration.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 64)
        return configuration
    }

    @Test("a requester copies the provider's store exactly", arguments: [1, 8])
    func happyPath(window: Int) async throws {
        let network = LoopbackNetwork(seed: testSeed(1))
        let clock = TestClock()
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: configuration(window: window))
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: configuration(window: window))
        try commitVersions(1...200, to: [provider.store])
        // Live data on the requester that the copy must replace.
        try requester.store.put("kv", "stale", [1, 2, 3])

        let outcome = try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity],
                                                                 dispatcher: requester.dispatcher)
        #expect(outcome.version == 200)
        #expect(try requester.digest() == provider.digest())
        #expect(try requester.store.get("kv", "stale") == nil)
        #expect(try PaxosLog(store: requester.store).lastCommitted() == 200)
        #expect(try requester.store.syncMarker() == nil, "the in-sync marker is cleared by the swap")
        #expect(outcome.progress.chunks > 10, "small chunk limits make many chunks")
        #expect(outcome.progress.providerSwitches == 0)
        await eventually("provider session closed") { await provider.provider.activeSessions == 0 }
        #expect(await provider.provider.statistics.sessionsCompleted == 1)
        await provider.stop()
        await requester.stop()
    }

    @Test("a silent provider is replaced; the copy resumes after the last key and rolls forward to the new version")
    func failoverAndRollForward() async throws {
        let network = LoopbackNetwork(seed: testSeed(2))
        let clock = TestClock()
        var config = configuration(window: 4)
        config.chunkTimeout = .seconds(30)
        let first = try await SyncNode.start("p1", rank: 0, network: network, clock: clock, configuration: config)
        let second = try await SyncNode.start("p2", rank: 1, network: network, clock: clock, configuration: config)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try commitVersions(1...150, to: [first.store, second.store])

        let done = LockedState(false)
        let sync = Task {
            defer { done.withLock { $0 = true } }
            return try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [first.entity, second.entity],
                                                             dispatcher: requester.dispatcher)
        }
        await eventually("some chunks from p1") { requester.requester.progress.chunks >= 5 }
        // p1 goes silent towards the requester, and the cluster moves on meanwhile.
        network.setFaults(LoopbackFaults(drop: 1), from: first.transport.localAddress, to: requester.transport.localAddress)
        try commitVersions(151...170, to: [first.store, second.store])
        await eventually("the requester waits on the chunk timeout") { await settledWaiting(requester) }
        await advance(clock, by: .seconds(30), until: "the failover completed the sync") { done.withLock { $0 } }

        let outcome = try await sync.value
        #expect(outcome.version == 170)
        #expect(outcome.progress.providerSwitches == 1)
        #expect(try requester.digest() == second.digest(), "keys from two snapshots, rolled forward to one version")
        for node in [first, second, requester] { await node.stop() }
    }

    @Test("a chunk that fails its CRC is refused and another provider serves")
    func corruptChunk() async throws {
        let network = LoopbackNetwork(seed: testSeed(3))
        let clock = TestClock()
        let config = configuration(window: 2)
        let good = try await SyncNode.start("good", rank: 0, network: network, clock: clock, configuration: config)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try commitVersions(1...20, to: [good.store])
        // A hostile provider: answers START_CHUNKS with a chunk whose CRC does not match.
        let liar = LoopbackTransport(address: "loopback://liar", network: network, options: TransportOptions(clock: clock))
        try await liar.start()
        var router = MessageRouter()
        router.register(.startChunks) { message, context in
            try await context.reply(MMonSync(op: .chunk, flags: [.crc, .last], version: 20, chunk: [1, 2, 3], crc: 0xBAD,
                                             session: message.session, sequence: 1))
        }
        let liarDispatcher = Dispatcher(transport: liar, router: router)
        let liarTask = Task { await liarDispatcher.run() }

        let outcome = try await requester.requester.synchronize(
            targets: ["kv", "paxos"], from: [MonitorEntity(rank: 1, name: "liar", address: "loopback://liar"), good.entity],
            dispatcher: requester.dispatcher)
        #expect(outcome.progress.corruptChunks == 1)
        #expect(outcome.progress.providerSwitches == 1)
        #expect(try requester.digest() == good.digest())
        await liar.shutdown()
        await liarTask.value
        await good.stop()
        await requester.stop()
    }

    @Test("duplicated messages are dropped as stale and change nothing")
    func duplicates() async throws {
        let network = LoopbackNetwork(seed: testSeed(4), faults: LoopbackFaults(duplicate: 0.3))
        let clock = TestClock()
        let config = configuration(window: 8)
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: config)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try commitVersions(1...100, to: [provider.store])
        let outcome = try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity],
                                                                 dispatcher: requester.dispatcher)
        #expect(try requester.digest() == provider.digest())
        #expect(outcome.progress.staleMessages > 0)
        #expect(network.statistics.duplicated > 0)
        await provider.stop()
        await requester.stop()
    }

    @Test("reordered chunks are detected as a gap and the stream resumes after the last applied key")
    func reordered() async throws {
        let network = LoopbackNetwork(seed: testSeed(8))
        let clock = TestClock()
        var config = configuration(window: 8)
        config.maxProviderSwitches = 50
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: config)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try commitVersions(1...100, to: [provider.store])
        network.setFaults(LoopbackFaults(reorder: 0.1, reorderHold: .milliseconds(1)), from: provider.transport.localAddress,
                          to: requester.transport.localAddress)
        let done = LockedState(false)
        let sync = Task {
            defer { done.withLock { $0 = true } }
            return try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity],
                                                             dispatcher: requester.dispatcher)
        }
        for _ in 0..<400 where !done.withLock({ $0 }) {
            await clock.advance(by: .milliseconds(1))
            await settle()
        }
        let outcome = try await sync.value
        #expect(network.statistics.reordered > 0)
        #expect(outcome.progress.providerSwitches > 0, "a gap restarts the stream from the last applied key")
        #expect(try requester.digest() == provider.digest())
        await provider.stop()
        await requester.stop()
    }

    @Test("messages of another session are dropped and counted, on both sides")
    func staleSessions() async throws {
        let network = LoopbackNetwork(seed: testSeed(9))
        let clock = TestClock()
        let config = configuration(window: 1)
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: config)
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try commitVersions(1...40, to: [provider.store])
        let intruder = LoopbackTransport(address: "loopback://intruder", network: network, options: TransportOptions(clock: clock))
        try await intruder.start()
        let codec = MessageCodec()
        // An acknowledgement for a session the provider never served.
        try await intruder.send(codec.encode(MMonSync(op: .chunkReply, session: 12345, sequence: 1)), to: provider.transport.localAddress)
        await eventually("counted by the provider") { await provider.provider.statistics.staleMessages == 1 }
        let sync = Task { try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [provider.entity],
                                                                     dispatcher: requester.dispatcher) }
        await eventually("streaming") { requester.requester.progress.chunks >= 1 }
        // A chunk of another session, from a node that is not the provider.
        try await intruder.send(codec.encode(MMonSync(op: .chunk, flags: .crc, chunk: [1], crc: CRC32C.checksum([1] as [UInt8]),
                                                      session: 999, sequence: 2)), to: requester.transport.localAddress)
        let outcome = try await sync.value
        #expect(outcome.progress.staleMessages >= 1)
        #expect(try requester.digest() == provider.digest())
        await intruder.shutdown()
        await provider.stop()
        await requester.stop()
    }

    @Test("a busy provider answers RETRY and the requester moves on")
    func busyProvider() async throws {
        let network = LoopbackNetwork(seed: testSeed(5))
        let clock = TestClock()
        var busyConfig = configuration(window: 4)
        busyConfig.maxProviderSessions = 0
        let busy = try await SyncNode.start("busy", rank: 0, network: network, clock: clock, configuration: busyConfig)
        let free = try await SyncNode.start("free", rank: 1, network: network, clock: clock, configuration: configuration(window: 4))
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: configuration(window: 4))
        try commitVersions(1...30, to: [busy.store, free.store])
        let outcome = try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [busy.entity, free.entity],
                                                                 dispatcher: requester.dispatcher)
        #expect(outcome.progress.retries == 1)
        #expect(await busy.provider.statistics.refusedBusy == 1)
        #expect(try requester.digest() == free.digest())
        for node in [busy, free, requester] { await node.stop() }
    }

    @Test("a provider drops the session of a requester that went away, after its timeout")
    func providerSessionExpires() async throws {
        let network = LoopbackNetwork(seed: testSeed(6))
        let clock = TestClock()
        var config = configuration(window: 1)
        config.providerTimeout = .seconds(30)
        let provider = try await SyncNode.start("p", rank: 0, network: network, clock: clock, configuration: config)
        try commitVersions(1...100, to: [provider.store])
        // A requester that asks for chunks and then vanishes without acknowledging any.
        let ghost = LoopbackTransport(address: "loopback://ghost", network: network, options: TransportOptions(clock: clock))
        try await ghost.start()
        try await ghost.send(MessageCodec().encode(MMonSync(op: .startChunks, session: 77, window: 1)), to: provider.transport.localAddress)
        await eventually("a session on the provider") { await provider.provider.activeSessions == 1 }
        await ghost.shutdown()
        await settle()
        await clock.advance(by: .seconds(29))
        await settle()
        #expect(await provider.provider.activeSessions == 1, "not before the timeout")
        await advance(clock, by: .seconds(1), until: "the session expired") { await provider.provider.activeSessions == 0 }
        #expect(await provider.provider.statistics.sessionsExpired == 1)
        await provider.stop()
    }

    @Test("a provider that cannot serve refuses with an error reply, not a crash")
    func cannotServe() async throws {
        let network = LoopbackNetwork(seed: testSeed(7))
        let clock = TestClock()
        var config = configuration(window: 4)
        config.maxProviderSwitches = 1
        let syncing = try await SyncNode.start("syncing", rank: 0, network: network, clock: clock, configuration: config,
                                               environment: FixedEnvironment(serving: false))
        let requester = try await SyncNode.start("r", rank: 2, network: network, clock: clock, configuration: config)
        try requester.store.put("kv", "live", [9])
        await #expect {
            try await requester.requester.synchronize(targets: ["kv", "paxos"], from: [syncing.entity], dispatcher: requester.dispatcher)
        } throws: { error in
            if case .tooManyProviderSwitches = error as? SyncFailure { true } else { false }
        }
        #expect(await syncing.provider.statistics.refusedCannotServe == 2)
        #expect(try requester.store.get("kv", "live") == [9], "live data untouched by a failed sync")
        #expect(try requester.store.syncMarker() == nil, "the staging area is abandoned")
        await syncing.stop()
        await requester.stop()
    }
}

/// True once the requester has nothing left to process (it is blocked on its chunk timeout).
func settledWaiting(_ node: SyncNode) async -> Bool {
    let before = node.requester.progress.chunks
    await settle()
    return node.requester.progress.chunks == before
}

func settle() async {
    for _ in 0..<20 { await Task.yield() }
    try? await Task.sleep(for: .milliseconds(20))
}
