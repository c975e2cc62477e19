import MonSyncCore
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

@Suite("Cluster: partitions and lossy links", .serialized)
struct FaultTests {
    @Test("a partitioned leader loses its quorum; the majority elects another; after healing all three agree")
    func partitionedLeader() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<5 { try await client.put("before-\(index)", Array("x")) } }
        cluster.network.partition(["loopback://mon.a"], from: ["loopback://mon.b", "loopback://mon.c", "loopback://client.1"])
        try await cluster.waitForQuorum([1, 2])
        // The isolated old leader stepped down when its lease acks stopped: it never serves as a second leader.
        try await cluster.run(until: "mon.a steps down") {
            let state = await cluster.monitor(0)!.state
            return state == .probing || state == .electing
        }
        _ = try await cluster.perform { for index in 0..<5 { try await client.put("during-\(index)", Array("y")) } }
        cluster.network.heal()
        try await cluster.waitForQuorum([0, 1, 2])
        let last = await cluster.monitor(1)!.lastCommitted
        try await cluster.waitForVersion(last, on: [0, 1, 2])
        let targets = cluster.monitor(0)!.syncTargetNames
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: targets) }
        #expect(digests[0] == digests[1] && digests[1] == digests[2])
        #expect(try cluster.stores[0].get(KeyValueService.prefix, "during-4") == Array("y"))
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("with seeded loss and duplication every acknowledged write is committed exactly once and the members converge")
    func lossyLinks() async throws {
        let cluster = try MonitorCluster(seed: 7, configuration: MonitorConfiguration(paxosMin: 5000))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        cluster.network.setFaults(LoopbackFaults(drop: 0.03, duplicate: 0.03))
        let keys = (0..<30).map { "lossy-\($0)" }
        _ = try await cluster.perform(within: .seconds(600)) {
            for key in keys { try await client.put(key, Array(key), timeout: .seconds(300)) }
        }
        cluster.network.setFaults(.none)
        #expect(cluster.network.statistics.dropped > 0)
        #expect(cluster.network.statistics.duplicated > 0)
        try await cluster.run(until: "a quorum of all three", within: .seconds(120)) { await cluster.hasQuorum(of: [0, 1, 2]) }
        let leader = Int(await cluster.monitor(0)!.status.leader!)
        let last = await cluster.monitor(leader)!.lastCommitted
        try await cluster.waitForVersion(last, on: [0, 1, 2])
        for key in keys { #expect(try commitCount(ofKey: key, in: cluster.stores[leader]) == 1, "\(key)") }
        let targets = cluster.monitor(0)!.syncTargetNames
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: targets) }
        #expect(digests[0] == digests[1] && digests[1] == digests[2])
        await client.shutdown()
        await cluster.stopAll()
    }
}
