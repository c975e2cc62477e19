import MonSyncCore
@testable import MonSyncMonitor
import MonSyncStore
import Testing

@Suite("Cluster: election and commit", .serialized)
struct ElectionTests {
    @Test("three monitors elect the lowest rank; every status agrees")
    func electsLowestRank() async throws {
        let cluster = try Cluster()
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
        let cluster = try Cluster()
        try await cluster.start(1)
        try await cluster.start(2)
        let leader = try await cluster.waitForQuorum([1, 2])
        #expect(leader == 1)
        await cluster.stopAll()
    }

    @Test("a lone monitor does not form a quorum")
    func loneMonitorWaits() async throws {
        let cluster = try Cluster()
        let monitor = try await cluster.start(2)
        await cluster.idle(for: .seconds(20))
        let status = await monitor.status
        #expect(status.state == .probing)
        #expect(status.quorum.isEmpty)
        await cluster.stopAll()
    }
}
