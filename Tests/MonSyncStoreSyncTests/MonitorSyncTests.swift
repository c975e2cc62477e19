import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync
import MonSyncTestSupport
import Testing

extension MonitorCluster {
    /// Three real monitors (each runs the store sync's three roles) with `sync`: the network's seed and
    /// each monitor's (its rank) go through ``testSeed(_:)``, clients have ids from 0xC1_0001, and
    /// ``MonitorCluster/run(until:within:_:)`` waits 120 s of simulated time when not told.
    static func sync(seed: UInt64, sync: SyncConfiguration) throws -> MonitorCluster {
        try MonitorCluster(seed: testSeed(seed), syncConfiguration: sync, monitorSeed: { testSeed(UInt64($0)) },
                           clientIDBase: 0xC1_0000, defaultLimit: .seconds(120))
    }
}

@Suite("Store sync inside a living monitor cluster", .timeLimit(.minutes(3)))
struct MonitorSyncTests {
    @Test("an empty monitor joining a trimmed cluster is synced while writes go on, and rejoins with equal stores")
    func obliviousMonitorSyncsAndRejoins() async throws {
        var config = SyncConfiguration()
        config.chunkLimits = ChunkLimits(maxBytes: 8192, maxKeys: 64)
        config.window = 4
        let cluster = try MonitorCluster.sync(seed: 21, sync: config)
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.run(until: "quorum of a and b") { await cluster.inQuorum([0, 1]) }
        let client = try await cluster.client()
        for index in 0..<120 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index % 251), count: 300)) }
        }
        let leader = try #require(cluster.monitor(0))
        try await cluster.run(until: "trimmed") { await leader.firstCommitted > 1 }
        #expect(await leader.firstCommitted > 1, "the log was trimmed: c cannot catch up by Paxos alone")

        // c starts empty, finds itself oblivious, syncs while the cluster keeps committing, and rejoins.
        try await cluster.start(2)
        let written = LockedState(false)
        let writer = Task {
            for index in 120..<140 { _ = try? await client.put("key-\(index)", [UInt8(index % 251)]) }
            written.withLock { $0 = true }
        }
        try await cluster.run(until: "c synced and in quorum", within: .seconds(300)) { await cluster.inQuorum([0, 1, 2]) }
        try await cluster.run(until: "the writer finished") { written.withLock { $0 } }
        await writer.value
        // Equal data at one version. Messages move in real time while the test clock stands still,
        // so a trim that became due may land between reading the versions and the digests: the
        // three are compared until they are taken at one version.
        let targets = cluster.monitor(0)!.syncTargetNames
        try await cluster.run(until: "equal stores at one version") {
            let versions = [await cluster.monitor(0)!.lastCommitted, await cluster.monitor(1)!.lastCommitted,
                            await cluster.monitor(2)!.lastCommitted]
            guard Set(versions).count == 1,
                  let digests = try? [0, 1, 2].map({ try cluster.stores[$0].digest(of: targets) }),
                  await cluster.monitor(0)!.lastCommitted == versions[0] else { return false }
            return Set(digests).count == 1
        }
        let results = try #require(cluster.monitor(2)).syncResults
        #expect(results.count == 1)
        guard case let .success(outcome)? = results.first else {
            Issue.record("c's sync did not succeed: \(results)")
            return
        }
        #expect(outcome.version > 0)
        #expect(try cluster.stores[2].get("kv", "key-0") != nil)
        await client.shutdown()
        await cluster.stopAll()
    }
}


extension MonitorSyncTests {
    @Test("a synced monitor's status reports the sync: phase done, the bytes and keys copied; the roles' counters agree")
    func statusReportsTheSync() async throws {
        var config = SyncConfiguration()
        config.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 32)
        config.window = 2
        let cluster = try MonitorCluster.sync(seed: 23, sync: config)
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.run(until: "quorum of a and b") { await cluster.inQuorum([0, 1]) }
        let client = try await cluster.client()
        for index in 0..<80 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index), count: 200)) }
        }
        try await cluster.run(until: "trimmed") { await cluster.monitor(0)!.firstCommitted > 1 }
        // Before any sync, nobody has anything to report: the status carries no sync section.
        let before = try await cluster.perform { await client.status(of: 0) }
        #expect(before != nil && before?.sync == nil, "\(String(describing: before))")

        try await cluster.start(2)
        try await cluster.run(until: "c synced and in quorum", within: .seconds(300)) { await cluster.inQuorum([0, 1, 2]) }
        guard case let .success(outcome)? = try #require(cluster.monitor(2)).syncResults.first else {
            Issue.record("c's sync did not succeed")
            return
        }
        var statuses: [MonitorStatus] = []
        for rank: Int32 in 0..<3 {
            statuses.append(try #require(try await cluster.perform { await client.status(of: rank) }, "no status from \(rank)"))
        }
        let copied = try #require(statuses[2].sync?.requester, "c's status has the requester's section")
        #expect(copied.phase == .done)
        #expect(copied.bytes > 0 && copied.keys >= 80 && copied.chunks > 1)
        #expect(copied.bytes == outcome.progress.bytes && copied.keys == outcome.progress.keys
                && copied.chunks == outcome.progress.chunks, "the status reports what the sync copied: \(copied) vs \(outcome.progress)")
        #expect(copied.session == outcome.progress.session && copied.session != 0)
        #expect(copied.elapsedMilliseconds == UInt64(outcome.progress.elapsed.components.seconds * 1000
            + outcome.progress.elapsed.components.attoseconds / 1_000_000_000_000_000))
        #expect(copied.providerSwitches == 0 && copied.corruptChunks == 0 && copied.aborts == 0)
        #expect(copied.etaMilliseconds == nil, "nothing left once done")
        // The provider's estimate (in-memory stores: the entries' encoded size) is what was copied,
        // give or take the chunk headers.
        #expect(copied.estimatedBytes > 0 && copied.estimatedBytes <= copied.bytes && copied.estimatedBytes + 10 * copied.chunks >= copied.bytes,
                "estimate \(copied.estimatedBytes) for \(copied.bytes) bytes in \(copied.chunks) chunks")
        // Every byte and chunk c applied, a provider sent (no fault on this network, no failover).
        let providers = statuses.prefix(2).map { $0.sync?.provider ?? MonitorSyncStatus.Provider() }
        #expect(providers.map(\.bytesSent).reduce(0, +) == copied.bytes)
        #expect(providers.map(\.chunksSent).reduce(0, +) == copied.chunks)
        #expect(providers.map(\.served).reduce(0, +) == 1 && providers.map(\.completed).reduce(0, +) == 1)
        #expect(providers.allSatisfy { $0.sessionsActive == 0 && $0.refusals == 0 })
        let leaderRank = try #require(statuses[0].leader)
        let leaderSection = try #require(statuses[Int(leaderRank)].sync?.leader, "the leader reports its grant")
        #expect(leaderSection.granted == 1 && leaderSection.retryAnswers == 0 && leaderSection.trimTimeouts == 0)
        #expect(leaderSection.syncsRunning == 0, "the sync finished")
        // The keys copied are the provider's whole snapshot of the sync targets (nothing committed since).
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(await cluster.monitor(0)!.lastCommitted == outcome.version)
        #expect(UInt64(try cluster.stores[0].digest(of: targets).keyCount) == copied.keys)
        // The section survives the wire (status replies travel as MMonCommandReply).
        let codec = MessageCodec.monitor()
        let reply = MMonCommandReply(op: .status, tid: 1, result: .ok, status: statuses[2])
        #expect(try codec.decode(codec.encode(reply)) as? MMonCommandReply == reply)
        await client.shutdown()
        await cluster.stopAll()
    }
}

@Suite("Store sync: a requester that died mid-sync", .timeLimit(.minutes(3)))
struct InterruptedSyncTests {
    @Test("a monitor restarted after dying mid-sync discards the partial copy and syncs from scratch")
    func restartAfterCrashMidSync() async throws {
        var config = SyncConfiguration()
        config.chunkLimits = ChunkLimits(maxBytes: 8192, maxKeys: 64)
        let cluster = try MonitorCluster.sync(seed: 31, sync: config)
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.run(until: "quorum of a and b") { await cluster.inQuorum([0, 1]) }
        let client = try await cluster.client()
        for index in 0..<100 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index), count: 200)) }
        }
        try await cluster.run(until: "trimmed") { await cluster.monitor(0)!.firstCommitted > 1 }

        // What a crash mid-sync leaves on c: the durable in-sync marker and a partial staging area,
        // beside its old live data.
        let store = cluster.stores[2]
        try store.put("kv", "old-live-key", [1])
        try store.beginStaging(targets: ["kv", "kv_clients", "paxos"])
        var partial = StoreTransaction()
        partial.put("kv", "key-0", [9, 9, 9])
        try store.stage(partial)
        #expect(try store.syncMarker() != nil)

        try await cluster.start(2)
        #expect(await cluster.monitor(2)?.discardedInterruptedSyncs == 1)
        try await cluster.run(until: "c synced again and rejoined", within: .seconds(300)) { await cluster.inQuorum([0, 1, 2]) }
        try await cluster.run(until: "equal versions") {
            await cluster.monitor(2)!.lastCommitted == cluster.monitor(0)!.lastCommitted
        }
        #expect(try store.syncMarker() == nil)
        #expect(try store.get("kv", "old-live-key") == nil, "the fresh copy replaced the old live data")
        #expect(try store.get("kv", "key-0") == Array(repeating: 0, count: 200), "nothing from the partial copy survived")
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(try store.digest(of: targets) == cluster.stores[0].digest(of: targets))
        await client.shutdown()
        await cluster.stopAll()
    }
}

extension MonitorSyncTests {
    @Test("without a quorum (b down), an oblivious c copies from a without a grant, and a and c form a quorum")
    func syncWithoutQuorum() async throws {
        let cluster = try MonitorCluster.sync(seed: 41, sync: SyncConfiguration())
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.run(until: "quorum of a and b") { await cluster.inQuorum([0, 1]) }
        let client = try await cluster.client()
        for index in 0..<120 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index % 251), count: 100)) }
        }
        try await cluster.run(until: "trimmed") { await cluster.monitor(0)!.firstCommitted > 1 }
        await client.shutdown()
        // b goes away: a has lost its quorum (1 of 3); no leader can grant c's sync.
        await cluster.monitor(1)!.stop()
        let a = try #require(cluster.monitor(0))
        try await cluster.run(until: "a out of quorum") { await !a.state.isInQuorum }
        let version = await a.lastCommitted
        // c starts empty and oblivious. Waiting for a leader would wait for b; a, a committed
        // member's store that nothing changes without a quorum, serves it instead.
        try await cluster.start(2)
        try await cluster.run(until: "a and c in quorum", within: .seconds(300)) { await cluster.inQuorum([0, 2]) }
        let c = try #require(cluster.monitor(2))
        guard case let .success(outcome)? = c.syncResults.last else {
            Issue.record("c's sync did not succeed: \(c.syncResults)")
            return
        }
        #expect(outcome.version == version)
        #expect(await a.syncLeaderStatistics.accepted == 0, "nobody granted the sync")
        #expect(await a.syncProviderStatistics.sessionsCompleted == 1)
        let targets = a.syncTargetNames
        try await cluster.run(until: "equal versions") { await c.lastCommitted == a.lastCommitted }
        #expect(try cluster.stores[2].digest(of: targets) == cluster.stores[0].digest(of: targets))
        await cluster.stopAll()
    }
}

@Suite("Store sync: the requester's lifetime and mailbox", .timeLimit(.minutes(3)))
struct RequesterLifetimeTests {
    /// A cluster of a and b with a trimmed log, and c not started.
    static func trimmedCluster(seed: UInt64, sync: SyncConfiguration = SyncConfiguration()) async throws -> (MonitorCluster, MonitorClient) {
        let cluster = try MonitorCluster.sync(seed: seed, sync: sync)
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.run(until: "quorum of a and b") { await cluster.inQuorum([0, 1]) }
        let client = try await cluster.client()
        for index in 0..<100 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index), count: 200)) }
        }
        try await cluster.run(until: "trimmed") { await cluster.monitor(0)!.firstCommitted > 1 }
        return (cluster, client)
    }

    /// Regression (defect 7): session ids came from a constant seed, so a restarted requester's first
    /// START_CHUNKS repeated one its provider had served, was dropped as a duplicate, and the sync
    /// waited a chunk timeout.
    @Test("a restarted requester's next sync has a new session and streams at once")
    func sessionsDifferAcrossRestarts() async throws {
        let (cluster, client) = try await Self.trimmedCluster(seed: 51)
        try await cluster.start(2)
        try await cluster.run(until: "c synced", within: .seconds(300)) { await cluster.inQuorum([0, 1, 2]) }
        guard case let .success(first)? = cluster.monitor(2)!.syncResults.first else {
            Issue.record("c's first sync did not succeed")
            return
        }
        // c is stopped and loses its data (a replaced disk); it restarts with the same seed.
        await cluster.monitor(2)!.stop()
        for prefix in cluster.monitor(0)!.syncTargetNames { try cluster.stores[2].erasePrefix(prefix) }
        for index in 100..<140 {
            _ = try await cluster.perform { try await client.put("key-\(index)", [1]) }
        }
        try await cluster.start(2)
        try await cluster.run(until: "c synced again", within: .seconds(300)) { await cluster.inQuorum([0, 1, 2]) }
        guard case let .success(second)? = cluster.monitor(2)!.syncResults.first else {
            Issue.record("c's second sync did not succeed")
            return
        }
        #expect(first.progress.session != second.progress.session)
        #expect(second.progress.providerSwitches == 0 && second.progress.staleMessages == 0, "\(second.progress)")
        #expect(second.progress.elapsed < cluster.syncConfiguration.chunkTimeout, "no chunk timeout was waited out")
        await client.shutdown()
        await cluster.stopAll()
    }

    /// Regression (defect 8): the requester's mailbox kept up to 256 frames from anyone while no
    /// sync ran, and the next sync then dropped real chunks.
    @Test("requester messages that arrive while no sync runs are dropped and counted, not kept")
    func nothingKeptWhileIdle() async throws {
        let cluster = try MonitorCluster.sync(seed: 53, sync: SyncConfiguration())
        try await cluster.start(0)
        let a = try #require(cluster.monitor(0))
        let ghost = LoopbackTransport(address: "loopback://ghost", network: cluster.network, options: cluster.options)
        let dispatcher = Dispatcher(transport: ghost, codec: .monitor(), router: MessageRouter())
        try await ghost.start()
        let running = Task { await dispatcher.run() }
        let chunk = MMonSync(op: .chunk, flags: .crc, chunk: Array(repeating: 7, count: 65_536)[...], session: 5, sequence: 1)
        for _ in 0..<300 { try await dispatcher.send(chunk, to: "loopback://mon.a") }
        try await eventually("all 300 dropped\(seedNote)", timeout: .seconds(20), polling: .milliseconds(2)) { a.syncMessagesDroppedWhileIdle == 300 }
        #expect(a.syncProgress == nil, "no sync ran")
        await ghost.shutdown()
        await running.value
        await cluster.stopAll()
    }

    /// Regression (defect 12): the monitor held its store sync weakly; now it owns it, and stopping
    /// the monitor ends the sync.
    @Test("stopping a monitor mid-sync ends its sync: cancelled, staging abandoned, live data untouched")
    func stopEndsTheSync() async throws {
        var config = SyncConfiguration()
        config.chunkLimits = ChunkLimits(maxBytes: 512, maxKeys: 2)
        config.window = 1
        let (cluster, client) = try await Self.trimmedCluster(seed: 55, sync: config)
        try cluster.stores[2].put("kv", "live-on-c", [3])
        try await cluster.start(2)
        let c = try #require(cluster.monitor(2))
        try await eventually("c streams\(seedNote)", timeout: .seconds(20), polling: .milliseconds(2)) { c.syncProgress.map { $0.phase == .streaming && $0.chunks > 2 } ?? false }
        await c.stop()
        guard case .failure(.cancelled)? = c.syncResults.last else {
            Issue.record("\(c.syncResults)")
            return
        }
        #expect(try cluster.stores[2].syncMarker() == nil, "the staging area is abandoned")
        #expect(try cluster.stores[2].get("kv", "live-on-c") == [3])
        await client.shutdown()
        await cluster.stopAll()
    }
}
