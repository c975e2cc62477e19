import MonSyncCore
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

@Suite("Cluster: seeded chaos", .serialized)
struct ChaosTests {
    @Test("loss, duplication, reordering and delay plus a leader restart: acknowledged writes are committed exactly once and members converge",
          arguments: [UInt64(117), 118, 119])
    func chaos(seed: UInt64) async throws {
        let cluster = try MonitorCluster(seed: seed, configuration: MonitorConfiguration(paxosMin: 5000))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        cluster.network.setFaults(LoopbackFaults(drop: 0.1, duplicate: 0.1, reorder: 0.1, delay: 0.2,
                                                 delayRange: .milliseconds(1)...(.milliseconds(200))))
        let acknowledged = LockedState<[String]>([])
        let writer = Task {
            for index in 0..<20 {
                let key = "chaos-\(index)"
                _ = try await client.put(key, Array(key), timeout: .seconds(600))
                acknowledged.withLock { $0.append(key) }
            }
        }
        try await cluster.run(until: "8 acknowledged writes", within: .seconds(900)) { acknowledged.withLock { $0.count } >= 8 }
        let victim = Int(await cluster.liveStatuses().first { $0.state == .leader }?.rank ?? 0)
        await cluster.stop(victim)
        await cluster.idle(for: .seconds(5))
        try await cluster.start(victim)
        try await cluster.run(until: "all writes acknowledged", within: .seconds(1800)) { acknowledged.withLock { $0.count } == 20 }
        try await writer.value
        cluster.network.setFaults(.none)
        try await cluster.run(until: "a quorum of all three", within: .seconds(300)) { await cluster.hasQuorum(of: [0, 1, 2]) }
        let leader = Int(await cluster.monitor(0)!.status.leader!)
        let last = await cluster.monitor(leader)!.lastCommitted
        try await cluster.waitForVersion(last, on: [0, 1, 2], within: .seconds(120))
        for key in acknowledged.withLock({ $0 }) {
            let count = try commitCount(ofKey: key, in: cluster.stores[leader])
            #expect(count == 1, "\(key) committed \(count) times")
        }
        let targets = cluster.monitor(0)!.syncTargetNames
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: targets) }
        #expect(digests[0] == digests[1] && digests[1] == digests[2])
        await client.shutdown()
        await cluster.stopAll()
    }
}
