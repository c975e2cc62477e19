import Clocks
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

@Suite("Store sync: the leader role and the requester's whole protocol", .timeLimit(.minutes(3)))
struct SyncLeaderTests {
    func configuration() -> SyncConfiguration {
        var configuration = SyncConfiguration()
        configuration.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 64)
        configuration.window = 4
        return configuration
    }

    @Test("START, a provider other than the leader, heartbeats, FINISH; trim held, then released after the delay")
    func happyPath() async throws {
        let cluster = try await RoleCluster.start(seed: 11, configuration: configuration())
        try cluster.commit(1...120)
        let outcome = try await cluster.startSync().value
        #expect(outcome.version == 120)
        #expect(try cluster.c.digest() == cluster.a.digest())
        let stats = await cluster.a.leader.statistics
        #expect(stats.accepted == 1 && stats.finished == 1)
        #expect(await cluster.b.provider.statistics.sessionsStarted == 1, "the leader names a quorum member other than itself")
        #expect(await cluster.a.provider.statistics.sessionsStarted == 0)
        #expect(cluster.a.trim.calls.withLock { $0 } == [true], "held while syncing, not yet released")
        await cluster.clock.advance(by: .seconds(29))
        await settle()
        #expect(cluster.a.trim.held)
        await advance(cluster.clock, by: .seconds(1), until: "trim released") { !cluster.a.trim.held }
        #expect(cluster.a.trim.calls.withLock { $0 } == [true, false])
        await cluster.stop()
    }

    @Test("a peon forwards START once to the leader, which answers the requester directly")
    func forwardedOnce() async throws {
        let cluster = try await RoleCluster.start(seed: 12, configuration: configuration())
        try cluster.commit(1...30)
        // c's view is stale: it believes b leads. b forwards; a grants.
        let staleView = ClusterView(local: cluster.c.entity, shared: LockedState(ClusterView.State(
            leader: cluster.b.entity, quorum: [], stores: [:])))
        let c = cluster.c
        let outcome = try await c.requester.synchronize(targets: ["kv", "paxos"], environment: staleView, dispatcher: c.dispatcher)
        #expect(outcome.version == 30)
        #expect(await cluster.b.leader.statistics.forwarded == 1)
        #expect(await cluster.a.leader.statistics.accepted == 1)
        #expect(try cluster.c.digest() == cluster.a.digest())
        await cluster.stop()
    }

    @Test("a forwarded START that reaches a non-leader is refused with RETRY, never forwarded again")
    func noChains() async throws {
        let cluster = try await RoleCluster.start(seed: 13, configuration: configuration())
        let codec = MessageCodec()
        let forwarded = MMonSync(op: .start, replyTo: cluster.c.entity, session: 5)
        // b is not the leader and the START was already forwarded once.
        try await cluster.c.transport.send(codec.encode(forwarded), to: cluster.b.transport.localAddress)
        await eventually("b refused") { await cluster.b.leader.statistics.refusedNotLeader == 1 }
        #expect(await cluster.b.leader.statistics.forwarded == 0)
        await cluster.stop()
    }

    @Test("past the held-versions threshold new syncs get RETRY; the requester backs off and succeeds later")
    func retryAndBackoff() async throws {
        var config = configuration()
        config.maxHeldVersions = 5
        let cluster = try await RoleCluster.start(seed: 14, configuration: config)
        try cluster.commit(1...20)
        // Another requester (a raw endpoint) holds trim, then the log grows past the threshold.
        let other = LoopbackTransport(address: "loopback://other", network: cluster.network, options: TransportOptions(clock: cluster.clock))
        try await other.start()
        try await other.send(MessageCodec().encode(MMonSync(op: .start, session: 99)), to: cluster.a.transport.localAddress)
        await eventually("the other sync holds trim") { cluster.a.trim.held }
        try cluster.commit(21...30)
        let sync = cluster.startSync()
        await eventually("c was told to retry") { await cluster.a.leader.statistics.retried == 1 }
        // The other requester finishes; trim is released after its delay; c's backoff ends and it is granted.
        try await other.send(MessageCodec().encode(MMonSync(op: .finish, session: 99)), to: cluster.a.transport.localAddress)
        await eventually("the other sync finished") { await cluster.a.leader.statistics.finished == 1 }
        // The trim-enable delay and c's backoffs run on the test clock.
        for _ in 0..<20 where !sync.isDone {
            await cluster.clock.advance(by: .seconds(30))
            await settle()
        }
        #expect(cluster.a.trim.calls.withLock { $0 }.contains(false), "trim was released between the two syncs")
        let outcome = try await sync.value
        #expect(outcome.progress.retries >= 1)
        #expect(try cluster.c.digest() == cluster.a.digest())
        await other.shutdown()
        await cluster.stop()
    }

    @Test("a requester that goes silent loses its hold after the trim timeout")
    func trimTimeout() async throws {
        let cluster = try await RoleCluster.start(seed: 15, configuration: configuration())
        try cluster.commit(1...5)
        let ghost = LoopbackTransport(address: "loopback://ghost", network: cluster.network, options: TransportOptions(clock: cluster.clock))
        try await ghost.start()
        try await ghost.send(MessageCodec().encode(MMonSync(op: .start, session: 7)), to: cluster.a.transport.localAddress)
        // Accepted (and its trim timeout armed) before the clock moves.
        await eventually("accepted") { await cluster.a.leader.statistics.accepted == 1 }
        #expect(cluster.a.trim.held)
        await ghost.shutdown()
        await advance(cluster.clock, by: .seconds(30), until: "timed out") { await cluster.a.leader.statistics.timedOut == 1 }
        await advance(cluster.clock, by: .seconds(30), until: "trim released") { !cluster.a.trim.held }
        await cluster.stop()
    }

    @Test("when trim must resume, running syncs are aborted explicitly and live data is untouched")
    func explicitAbortForTrim() async throws {
        var config = configuration()
        config.window = 1
        let cluster = try await RoleCluster.start(seed: 16, configuration: config)
        try cluster.commit(1...300)
        try cluster.c.store.put("kv", "live", [42])
        // Slow the stream down so the abort lands mid-sync.
        cluster.network.setFaults(LoopbackFaults(delay: 1, delayRange: .milliseconds(10)...(.milliseconds(10))),
                                  from: cluster.b.transport.localAddress, to: cluster.c.transport.localAddress)
        let sync = cluster.startSync()
        await eventually("streaming") { cluster.c.requester.progress.chunks >= 1 || cluster.c.requester.progress.phase == .streaming }
        await cluster.a.leader.trimMustResume(dispatcher: cluster.a.dispatcher)
        for _ in 0..<200 where !sync.isDone {
            await cluster.clock.advance(by: .milliseconds(10))
            await settle()
        }
        await #expect {
            _ = try await sync.value
        } throws: { error in
            if case .abortedByLeader(.trimRequired) = error as? SyncFailure { true } else { false }
        }
        #expect(try cluster.c.store.get("kv", "live") == [42])
        #expect(try cluster.c.store.syncMarker() == nil)
        #expect(!cluster.a.trim.held)
        await cluster.stop()
    }

    @Test("the leader dies mid-sync: heartbeats re-establish the hold with the new leader and the sync completes")
    func leaderChange() async throws {
        var config = configuration()
        config.window = 1
        let cluster = try await RoleCluster.start(seed: 17, configuration: config)
        try cluster.commit(1...200)
        // Each chunk takes 100 ms of test time, so the sync outlives several heartbeat intervals.
        cluster.network.setFaults(LoopbackFaults(delay: 1, delayRange: .milliseconds(100)...(.milliseconds(100))),
                                  from: cluster.b.transport.localAddress, to: cluster.c.transport.localAddress)
        let sync = cluster.startSync()
        await eventually("granted") { await cluster.a.leader.statistics.accepted == 1 }
        // a dies; b is elected; the quorum is b alone with c syncing from it.
        await cluster.a.stop()
        cluster.shared.withLock { $0.leader = cluster.b.entity; $0.quorum = [cluster.b.entity] }
        for _ in 0..<2000 where !sync.isDone {
            await cluster.clock.advance(by: .milliseconds(100))
            await settle(short: true)
        }
        let outcome = try await sync.value
        #expect(await cluster.b.leader.statistics.reestablished == 1)
        #expect(cluster.b.trim.held)
        #expect(try cluster.c.digest() == cluster.b.digest())
        #expect(outcome.version == 200)
        await cluster.b.stop()
        await cluster.c.stop()
    }

    @Test("a lost FINISH_REPLY never discards the finished copy")
    func finishReplyLost() async throws {
        let cluster = try await RoleCluster.start(seed: 18, configuration: configuration())
        try cluster.commit(1...50)
        let sync = cluster.startSync()
        await eventually("granted") { cluster.c.requester.progress.phase == .streaming }
        // From now on nothing from the leader reaches c: heartbeat and finish replies are lost.
        cluster.network.setFaults(LoopbackFaults(drop: 1), from: cluster.a.transport.localAddress, to: cluster.c.transport.localAddress)
        await eventually("copied") { cluster.c.requester.progress.phase == .done }
        await settle()
        await advance(cluster.clock, by: .seconds(30), until: "the FINISH_REPLY timeout") { sync.isDone }
        let outcome = try await sync.value
        #expect(outcome.progress.phase == .done)
        #expect(cluster.c.requester.progress.finishReplyTimeouts == 1)
        #expect(try cluster.c.digest() == cluster.a.digest())
        #expect(try cluster.c.store.syncMarker() == nil)
        await cluster.stop()
    }
}

func settle(short: Bool) async {
    for _ in 0..<10 { await Task.yield() }
    try? await Task.sleep(for: .milliseconds(short ? 1 : 20))
}
