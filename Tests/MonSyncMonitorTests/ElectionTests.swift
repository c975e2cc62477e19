import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

@Suite("Cluster: election and commit", .serialized)
struct ElectionTests {
    @Test("three monitors elect the lowest rank; every status agrees")
    func electsLowestRank() async throws {
        let cluster = try MonitorCluster()
        try await cluster.startAll()
        let leader = try await cluster.waitForQuorum([0, 1, 2])
        #expect(leader == 0)
        let statuses = await cluster.liveStatuses()
        #expect(statuses.map(\.state) == [.leader, .peon, .peon])
        #expect(Set(statuses.map(\.electionEpoch)).count == 1)
        #expect(statuses[0].electionEpoch % 2 == 0)
        #expect(await cluster.monitor(0)!.statistics.electionsWon == 1)
        // The quorum stays: leases keep the peons from electing.
        await cluster.idle(for: .seconds(30))
        #expect(await cluster.hasQuorum(of: [0, 1, 2]))
        #expect(await cluster.monitor(0)!.statistics.electionsWon == 1)
        await cluster.stopAll()
    }

    @Test("any two of three form a quorum")
    func twoOfThree() async throws {
        let cluster = try MonitorCluster()
        try await cluster.start(1)
        try await cluster.start(2)
        let leader = try await cluster.waitForQuorum([1, 2])
        #expect(leader == 1)
        await cluster.stopAll()
    }

    @Test("a lone monitor does not form a quorum")
    func loneMonitorWaits() async throws {
        let cluster = try MonitorCluster()
        let monitor = try await cluster.start(2)
        await cluster.idle(for: .seconds(20))
        let status = await monitor.status
        #expect(status.state == .probing)
        #expect(status.quorum.isEmpty)
        await cluster.stopAll()
    }
}

@Suite("Cluster: hostile input", .serialized)
struct HostileInputTests {
    @Test("garbage and impostor messages are dropped and counted; the quorum is undisturbed")
    func garbageAndImpostors() async throws {
        let cluster = try MonitorCluster()
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let intruder = LoopbackTransport(address: "loopback://intruder", network: cluster.network, options: cluster.options)
        try await intruder.start()
        let codec = MessageCodec.monitor()
        try await intruder.send([0xDE, 0xAD, 0xBE, 0xEF], to: "loopback://mon.b")
        // Claims to be mon.a (rank 0) proposing a far newer election.
        try await intruder.send(codec.encode(MMonElection(op: .propose, epoch: 1001, senderRank: 0, monmapEpoch: 1)), to: "loopback://mon.b")
        try await intruder.send(codec.encode(MMonPaxos(op: .lease, epoch: 2, firstCommitted: 0, lastCommitted: 0, leaseMilliseconds: 5)),
                                to: "loopback://mon.c")
        let peon = cluster.monitor(1)!
        try await cluster.run(until: "drops counted") {
            await peon.statistics.impostorMessages >= 1 && peon.dispatcher.statistics.snapshot.malformed.values.reduce(0, +) >= 1
        }
        #expect(await cluster.monitor(2)!.statistics.impostorMessages >= 1)
        await cluster.idle(for: .seconds(15))
        #expect(await cluster.hasQuorum(of: [0, 1, 2]))
        #expect(await peon.electionEpoch < 1001)
        await intruder.shutdown()
        await cluster.stopAll()
    }
}

@Suite("Cluster: five monitors", .serialized)
struct FiveMonitorTests {
    @Test("five monitors elect rank 0; with two down the remaining three elect the lowest of them")
    func fiveMonitors() async throws {
        let cluster = try MonitorCluster(size: 5)
        try await cluster.startAll()
        #expect(try await cluster.waitForQuorum([0, 1, 2, 3, 4]) == 0)
        await cluster.stop(0)
        await cluster.stop(1)
        #expect(try await cluster.waitForQuorum([2, 3, 4]) == 2)
        await cluster.stop(2)
        // Two of five are no majority: no quorum forms.
        await cluster.idle(for: .seconds(30))
        #expect(!(await cluster.hasQuorum(of: [3, 4])))
        #expect(await cluster.liveStatuses().allSatisfy { !$0.state.isInQuorum })
        await cluster.stopAll()
    }
}

@Suite("Cluster: a single monitor", .serialized)
struct SingleMonitorTests {
    @Test("a one-monitor map is its own quorum and commits alone")
    func singleMonitor() async throws {
        let cluster = try MonitorCluster(size: 1)
        try await cluster.startAll()
        #expect(try await cluster.waitForQuorum([0]) == 0)
        let client = try await cluster.client()
        let version = try await cluster.perform { try await client.put("solo", Array("1")) }
        #expect(version >= 1)
        #expect(try cluster.stores[0].get(KeyValueService.prefix, "solo") == Array("1"))
        await client.shutdown()
        await cluster.stopAll()
    }
}
