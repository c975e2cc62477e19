import MonSyncCore
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

@Suite("Cluster: Paxos recovery of uncommitted values", .serialized)
struct RecoveryTests {
    /// Leaves in `store` what a peon holds after accepting `value` as version `version` under `pn`
    /// and losing the leader before the COMMIT arrived.
    func plantAccepted(_ value: StoreTransaction, version: UInt64, pn: UInt64, in store: any MonitorStore) throws {
        var transaction = StoreTransaction()
        transaction.put(PaxosState.prefix, PaxosState.pendingValueKey, value.encoded())
        transaction.put(PaxosState.prefix, PaxosState.pendingVersionKey, uint64: version)
        transaction.put(PaxosState.prefix, PaxosState.pendingPNKey, uint64: pn)
        transaction.put(PaxosState.prefix, PaxosState.acceptedPNKey, uint64: pn)
        try store.apply(transaction)
    }

    @Test("a value a peon accepted but never saw committed is re-proposed and committed by the new leader")
    func uncommittedValueSurvives() async throws {
        let cluster = try MonitorCluster()
        var accepted = StoreTransaction()
        accepted.put(KeyValueService.prefix, "accepted-before-the-crash", Array("kept"))
        try plantAccepted(accepted, version: 1, pn: 102, in: cluster.stores[1])
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        try await cluster.waitForVersion(1, on: [0, 1, 2])
        for store in cluster.stores {
            #expect(try store.get(KeyValueService.prefix, "accepted-before-the-crash") == Array("kept"))
            #expect(try PaxosLog(store: store).transaction(at: 1) == accepted)
            // Committed: nothing is left pending.
            #expect(try store.get(PaxosState.prefix, PaxosState.pendingVersionKey) == nil)
        }
        // The leader chose a proposal number above the promise it found.
        #expect(await cluster.monitor(0)!.paxos.acceptedPN > 102)
        await cluster.stopAll()
    }

    @Test("of two accepted values for the same version, the one with the higher proposal number wins")
    func highestProposalNumberWins() async throws {
        let cluster = try MonitorCluster()
        var older = StoreTransaction()
        older.put(KeyValueService.prefix, "k", Array("older"))
        var newer = StoreTransaction()
        newer.put(KeyValueService.prefix, "k", Array("newer"))
        try plantAccepted(older, version: 1, pn: 101, in: cluster.stores[1])
        try plantAccepted(newer, version: 1, pn: 202, in: cluster.stores[2])
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        try await cluster.waitForVersion(1, on: [0, 1, 2])
        for store in cluster.stores {
            #expect(try store.get(KeyValueService.prefix, "k") == Array("newer"))
        }
        await cluster.stopAll()
    }

    @Test("a leader that is behind takes the versions a peon has that it lacks")
    func leaderBehindCatchesUpFromPeon() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        // mon.b and mon.c committed five versions that mon.a (rank 0, the future leader) never saw.
        for rank in [1, 2] {
            let log = PaxosLog(store: cluster.stores[rank])
            for version in UInt64(1)...5 {
                var transaction = StoreTransaction()
                transaction.put(KeyValueService.prefix, "v\(version)", Array("x"))
                try log.commit(version: version, transaction)
            }
        }
        try await cluster.startAll()
        let leader = try await cluster.waitForQuorum([0, 1, 2])
        #expect(leader == 0)
        try await cluster.waitForVersion(5, on: [0])
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(try cluster.stores[0].digest(of: targets) == cluster.stores[1].digest(of: targets))
        await cluster.stopAll()
    }
}

@Suite("Cluster: bounded state sharing", .serialized)
struct BoundedShareTests {
    @Test("a peon far behind is caught up through several bounded COMMITs")
    func peonCaughtUpInPieces() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500, maxShareBytes: 200))
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.waitForQuorum([0, 1])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<25 { try await client.put("k\(index)", Array(repeating: UInt8(index), count: 40)) } }
        try await cluster.start(2)
        try await cluster.waitForQuorum([0, 1, 2])
        let last = await cluster.monitor(0)!.lastCommitted
        try await cluster.waitForVersion(last, on: [2])
        #expect(await cluster.monitor(0)!.statistics.versionsShared >= 25)
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(try cluster.stores[2].digest(of: targets) == cluster.stores[0].digest(of: targets))
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a leader far behind its peons catches up over successive recoveries when LAST is bounded")
    func leaderCaughtUpInPieces() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500, maxShareBytes: 1))
        for rank in [1, 2] {
            let log = PaxosLog(store: cluster.stores[rank])
            for version in UInt64(1)...4 {
                var transaction = StoreTransaction()
                transaction.put(KeyValueService.prefix, "v\(version)", Array("x"))
                try log.commit(version: version, transaction)
            }
        }
        try await cluster.startAll()
        try await cluster.waitForVersion(4, on: [0], within: .seconds(300))
        try await cluster.waitForQuorum([0, 1, 2], within: .seconds(120))
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(try cluster.stores[0].digest(of: targets) == cluster.stores[1].digest(of: targets))
        await cluster.stopAll()
    }
}
