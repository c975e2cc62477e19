import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

/// Membership changes through Paxos (issue 16), on the loopback transport with a simulated clock:
/// grow and shrink while a client writes, a monitor that was away learns the map from its peers, a
/// removed monitor stops, one change at a time.
@Suite("Membership: mon add and mon remove through Paxos", .serialized)
struct MembershipTests {
    /// Every running monitor (by name) follows monmap `epoch`, and those of `quorum` form a quorum
    /// whose members are exactly `quorum` (names).
    static func settled(_ monitors: [String: Monitor], epoch: UInt32, quorum: Set<String>) async -> Bool {
        var names: [Set<String>] = []
        for name in quorum {
            guard let monitor = monitors[name] else { return false }
            let map = await monitor.monmap
            guard map.epoch == epoch, await monitor.state.isInQuorum else { return false }
            names.append(Set(await monitor.quorum.compactMap { map.member(rank: $0)?.name }))
        }
        return names.allSatisfy { $0 == quorum }
    }

    @Test("grow 3 → 5 and shrink 5 → 3 while a client writes: every acknowledged write is on every member")
    func growAndShrink() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 50))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        var monitors: [String: Monitor] = [:]
        for rank in 0..<3 { monitors[cluster.monmap.members[rank].name] = cluster.monitor(rank)! }
        let client = try await cluster.client()
        var acknowledged: [String: String] = [:]
        var written = 0
        func write(_ count: Int) async throws {
            for _ in 0..<count {
                let key = "k\(written)"
                written += 1
                _ = try await cluster.perform { try await client.put(key, Array(key.utf8)) }
                acknowledged[key] = key
            }
        }
        try await write(30)

        // Grow: add d, start it empty (it syncs: the log was trimmed), then e.
        var stores: [String: InMemoryStore] = [:]
        for (epoch, name) in [(UInt32(2), "d"), (3, "e")] {
            let version = try await cluster.perform { try await client.addMonitor(name: name, address: "loopback://mon.\(name)") }
            #expect(version > 0)
            try await write(5)
            let map = await monitors["a"]!.monmap
            #expect(map.epoch == epoch && map.member(named: name)?.address == "loopback://mon.\(name)")
            stores[name] = InMemoryStore()
            monitors[name] = try await cluster.startNewMember(name, monmap: map, store: stores[name]!)
            try await cluster.run(until: "\(name) joins the quorum under e\(epoch)", within: .seconds(120)) {
                await Self.settled(monitors, epoch: epoch, quorum: Set(map.members.map(\.name)))
            }
            try await write(10)
        }
        // Adding a member again at the same address changes nothing.
        #expect(try await cluster.perform { try await client.addMonitor(name: "e", address: "loopback://mon.e") } == 0)

        // Shrink: remove e, then d; each stops taking part and says so (state `removed`).
        for (epoch, name) in [(UInt32(4), "e"), (5, "d")] {
            _ = try await cluster.perform { try await client.removeMonitor(name: name) }
            let remaining = Set(await monitors["a"]!.monmap.members.map(\.name))
            #expect(!remaining.contains(name))
            try await cluster.run(until: "\(name) is removed and the rest form a quorum under e\(epoch)", within: .seconds(60)) {
                let removed = await monitors[name]!.state == .removed
                guard removed else { return false }
                return await Self.settled(monitors, epoch: epoch, quorum: remaining)
            }
            try await write(10)
            await monitors[name]!.stop()
            monitors[name] = nil
        }
        #expect(try await cluster.perform { try await client.removeMonitor(name: "d") } == 0)

        // Every acknowledged write is readable, and the three members hold the same data.
        for (key, value) in acknowledged {
            let read = try await cluster.perform { try await client.get(key) }
            #expect(read == Array(value.utf8), "\(key)")
        }
        let last = await monitors["a"]!.lastCommitted
        try await cluster.waitForVersion(last, on: [0, 1, 2])
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: cluster.monitor(0)!.syncTargetNames) }
        #expect(Set(digests).count == 1)
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a monitor down during a change learns the new monmap from its peers' probe replies when it returns")
    func staleMonitorLearns() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        await cluster.stop(2)
        try await cluster.waitForQuorum([0, 1])
        _ = try await cluster.perform { try await client.addMonitor(name: "d", address: "loopback://mon.d") }
        let map = await cluster.monitor(0)!.monmap
        #expect(map.epoch == 2 && map.count == 4)
        let d = try await cluster.startNewMember("d", monmap: map, store: InMemoryStore())
        // c restarts with the monmap it was configured with (e1): its peers tell it about e2.
        let c = try await cluster.start(2)
        var monitors = ["a": cluster.monitor(0)!, "b": cluster.monitor(1)!, "c": c, "d": d]
        try await cluster.run(until: "c follows e2 and the four form a quorum", within: .seconds(120)) {
            await Self.settled(monitors, epoch: 2, quorum: ["a", "b", "c", "d"])
        }
        #expect(await c.statistics.monmapsAdopted == 1)
        // c persisted the map it follows: restarted, it starts with e2.
        await cluster.stop(2)
        let restarted = try await cluster.start(2)
        #expect(await restarted.monmap.epoch == 2)
        monitors["c"] = restarted
        try await cluster.run(until: "the four form a quorum again", within: .seconds(120)) {
            await Self.settled(monitors, epoch: 2, quorum: ["a", "b", "c", "d"])
        }
        await d.stop()
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a monitor removed while it was down finds out from its old peers and takes no part")
    func removedWhileDown() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        await cluster.stop(2)
        _ = try await cluster.perform { try await client.removeMonitor(name: "c") }
        let map = await cluster.monitor(0)!.monmap
        #expect(map.epoch == 2 && map.members.map(\.name) == ["a", "b"])
        let c = try await cluster.start(2)
        try await cluster.run(until: "c learns it was removed", within: .seconds(60)) { await c.state == .removed }
        // It answers status and refuses the rest with the reason; the two others keep their quorum.
        let reply = try await cluster.perform { await client.execute(MMonCommand(op: .put, clientID: 9, tid: 1, key: "x", value: Array("y")), at: 2) }
        #expect(reply?.result == .noQuorum && reply?.message.contains("removed") == true, "\(String(describing: reply))")
        _ = try await cluster.perform { try await client.put("after", Array("removal")) }
        #expect(await cluster.monitor(0)!.quorum.count == 2)
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("the leader removes itself: it stops taking part, the others elect a leader and serve writes")
    func leaderRemovesItself() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        #expect(await cluster.monitor(0)!.state == .leader)
        _ = try await cluster.perform { try await client.removeMonitor(name: "a") }
        let a = cluster.monitor(0)!, b = cluster.monitor(1)!, c = cluster.monitor(2)!
        try await cluster.run(until: "a is removed; b and c form a quorum under e2", within: .seconds(60)) {
            let removed = await a.state == .removed
            guard removed else { return false }
            return await Self.settled(["b": b, "c": c], epoch: 2, quorum: ["b", "c"])
        }
        // b is now rank 0 and leads.
        #expect(await b.rank == 0)
        #expect(await b.state == .leader)
        _ = try await cluster.perform { try await client.put("after", Array("a left")) }
        #expect(await c.monmap.member(named: "a") == nil)
        await client.shutdown()
        await cluster.stopAll()
    }

    /// The simulator's seed 234 (membership scenario, 3 monitors, 4 000 steps): a leader removed
    /// itself from {m1, m3}, m3 accepted but missed the COMMIT, and — the removed monitor ignoring
    /// every probe — m3 stayed in the old map, where it can never form a majority alone.
    @Test("a removed monitor answers a probe from an older map with its own map, and nothing else")
    func removedMonitorTellsTheNewMap() throws {
        let old = try MonMap(epoch: 4, named: [("m1", "loopback://m1"), ("m3", "loopback://m3")])
        let new = try MonMap(epoch: 5, named: [("m3", "loopback://m3")])
        let store = InMemoryStore()
        var transaction = StoreTransaction()
        transaction.setLatestMonmap(new.encoded())
        try store.apply(transaction)
        var removed = try MonitorMachine(monmap: old, rank: 0, store: store, seed: 1, now: .zero)
        #expect(removed.state == .removed)
        _ = removed.step(.start, now: .zero)
        let probe = MMonProbe(op: .probe, senderName: "m3", senderRank: 1, state: .probing, electionEpoch: 3,
                              monmapEpoch: 4, firstCommitted: 1, lastCommitted: 8)
        let actions = removed.step(.message(probe, from: "loopback://m3"), now: .milliseconds(1))
        guard actions.count == 1, case let .send(reply as MMonProbe, to) = actions[0] else { Issue.record("\(actions)"); return }
        #expect(to == "loopback://m3" && reply.op == .reply)
        #expect(reply.monmapEpoch == 5 && reply.monmap == new.members)
        // A probe from a monitor as new as it, and the protocol's other messages, get nothing.
        var current = probe
        current.monmapEpoch = 5
        #expect(removed.step(.message(current, from: "loopback://m3"), now: .milliseconds(2)).isEmpty)
        let election = MMonElection(op: .propose, epoch: 5, senderRank: 0, monmapEpoch: 5, quorum: [])
        #expect(removed.step(.message(election, from: "loopback://m3"), now: .milliseconds(3)).isEmpty)

        // The member with the old map adopts the new one from that reply.
        var member = try MonitorMachine(monmap: old, rank: 1, store: InMemoryStore(), seed: 2, now: .zero)
        _ = member.step(.start, now: .zero)
        _ = member.step(.message(reply, from: "loopback://m1"), now: .milliseconds(4))
        #expect(member.monmap == new && member.rank == 0)
    }

    @Test("changing the membership needs a monitor's key: a write key may put, not add or remove monitors")
    func membershipNeedsMonitorRole() {
        let add = MMonCommand(op: .monAdd, clientID: 1, tid: 1, key: "d", value: Array("tcp://10.0.0.4:7001".utf8))
        let remove = MMonCommand(op: .monRemove, clientID: 1, tid: 2, key: "c")
        let put = MMonCommand(op: .put, clientID: 1, tid: 3, key: "k", value: Array("v".utf8))
        #expect(Monitor.requiredRole(for: add) == .monitor)
        #expect(Monitor.requiredRole(for: remove) == .monitor)
        #expect(Monitor.requiredRole(for: put) == .write)
        #expect(!PeerIdentity.Role.write.allows(Monitor.requiredRole(for: add)))
        #expect(PeerIdentity.Role.monitor.allows(Monitor.requiredRole(for: remove)))
    }

    @Test("one change at a time: refused requests say why; removing the last monitor is refused")
    func refusals() async throws {
        let cluster = try MonitorCluster(size: 1, configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0])
        let client = try await cluster.client()
        func refusal(_ body: @escaping @Sendable () async throws -> UInt64) async throws -> MMonCommandReply? {
            do {
                _ = try await cluster.perform { try await body() }
                return nil
            } catch let error as MonitorClientError {
                if case let .refused(reply) = error { return reply }
                throw error
            }
        }
        let last = try await refusal { try await client.removeMonitor(name: "a") }
        #expect(last?.result == .invalid && last?.message.contains("last member") == true)
        let taken = try await refusal { try await client.addMonitor(name: "b", address: "loopback://mon.a") }
        #expect(taken?.result == .invalid && taken?.message.contains("mon.a's address") == true)
        // A request with a bad address is refused before it is sent.
        await #expect(throws: MonitorClientError.self) { try await client.addMonitor(name: "b", address: "not a url") }
        await client.shutdown()
        await cluster.stopAll()
    }
}
