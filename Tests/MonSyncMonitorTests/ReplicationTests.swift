import Foundation
import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

/// How many committed Paxos versions (still retained in `store`) put `key` into the key-value service.
func commitCount(ofKey key: String, in store: any MonitorStore) throws -> Int {
    let log = PaxosLog(store: store)
    let first = try log.firstCommitted(), last = try log.lastCommitted()
    guard last > 0 else { return 0 }
    var count = 0
    for version in first...last {
        guard let transaction = try log.transaction(at: version) else { continue }
        for operation in transaction.operations {
            if case let .put(prefix, k, _) = operation, prefix == KeyValueService.prefix, k == key { count += 1 }
        }
    }
    return count
}

@Suite("Cluster: replication, recovery, failover", .serialized)
struct ReplicationTests {
    @Test("a stream of client writes is committed on all three monitors, with equal digests")
    func streamOfWrites() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        let versions = try await cluster.perform {
            var versions: [UInt64] = []
            for index in 0..<40 { versions.append(try await client.put("key-\(index)", Array("value-\(index)"))) }
            return versions
        }
        // Each acknowledged write names its own, increasing version.
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
        let last = versions.last!
        try await cluster.waitForVersion(last, on: [0, 1, 2])
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: cluster.monitor(0)!.syncTargetNames) }
        #expect(digests[0] == digests[1] && digests[1] == digests[2])
        #expect(digests[0].keyCount > 40)
        // Reads: any monitor answers (the leader under its lease; a peon forwards to it).
        let (value, keys) = try await cluster.perform {
            (try await client.get("key-7"), try await client.list(prefix: "key-1"))
        }
        #expect(value == Array("value-7"))
        #expect(keys == ["key-1"] + (10..<20).map { "key-\($0)" })
        for rank in 0..<3 {
            let reply = try await cluster.perform {
                await client.execute(MMonCommand(op: .get, clientID: client.clientID, tid: client.nextTid(), key: "key-39"), at: Int32(rank))
            }
            #expect(reply?.result == .ok)
            #expect(reply.map { Array($0.value) } == Array("value-39"))
        }
        #expect(await cluster.monitor(0)!.statistics.writesCommitted == 40)
        // The queue of replies to the client closed once drained; only the peers' queues stay.
        let outbox = cluster.monitor(0)!.outbox
        try await cluster.run(until: "client reply queues drained", within: .seconds(5)) { outbox.openQueues == 2 }
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a write sent to a peon is forwarded once to the leader and committed; deletes too")
    func peonForwardsWrites() async throws {
        let cluster = try MonitorCluster()
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        let reply = try await cluster.perform {
            await client.execute(MMonCommand(op: .put, clientID: client.clientID, tid: client.nextTid(), key: "k", value: Array("v")), at: 2)
        }
        #expect(reply?.result == .ok)
        #expect((reply?.version ?? 0) > 0)
        #expect(reply?.status.rank == 0)  // the leader answered the client directly
        #expect(await cluster.monitor(2)!.statistics.commandsForwarded == 1)
        try await cluster.waitForVersion(reply!.version, on: [0, 1, 2])
        #expect(try cluster.stores[2].get(KeyValueService.prefix, "k") == Array("v"))
        let deletion = try await cluster.perform {
            await client.execute(MMonCommand(op: .delete, clientID: client.clientID, tid: client.nextTid(), key: "k"), at: 1)
        }
        #expect(deletion?.result == .ok)
        try await cluster.waitForVersion(deletion!.version, on: [0, 1, 2])
        #expect(try cluster.stores[1].get(KeyValueService.prefix, "k") == nil)
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a peon that was down is caught up by the leader's recovery")
    func restartedPeonCatchesUp() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<10 { try await client.put("before-\(index)", Array("x")) } }
        await cluster.stop(2)
        // The leader misses mon.c's lease acks, bootstraps, and a quorum of two forms.
        try await cluster.waitForQuorum([0, 1])
        let stoppedAt = try PaxosLog(store: cluster.stores[2]).lastCommitted()
        _ = try await cluster.perform { for index in 0..<25 { try await client.put("during-\(index)", Array("y")) } }
        let leaderLast = await cluster.monitor(0)!.lastCommitted
        #expect(leaderLast >= stoppedAt + 25)
        try await cluster.start(2)
        try await cluster.waitForQuorum([0, 1, 2])
        try await cluster.waitForVersion(leaderLast, on: [2])
        #expect(await cluster.monitor(0)!.statistics.versionsShared >= 25)
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(try cluster.stores[2].digest(of: targets) == cluster.stores[0].digest(of: targets))
        #expect(try cluster.stores[2].get(KeyValueService.prefix, "during-24") == Array("y"))
        // It was caught up by Paxos, not by a sync.
        #expect(await cluster.monitor(2)!.lastJoinDecision == .joinElection)
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("the leader dies: a new leader is elected and no acknowledged write is lost")
    func leaderFailover() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<30 { try await client.put("acked-\(index)", Array("\(index)")) } }
        await cluster.stop(0)
        let newLeader = try await cluster.waitForQuorum([1, 2])
        #expect(newLeader == 1)
        let values = try await cluster.perform {
            var values: [[UInt8]?] = []
            for index in 0..<30 { values.append(try await client.get("acked-\(index)")) }
            return values
        }
        #expect(values == (0..<30).map { Optional(Array("\($0)")) })
        // The new quorum keeps committing.
        _ = try await cluster.perform { for index in 0..<10 { try await client.put("after-\(index)", Array("z")) } }
        let last = await cluster.monitor(1)!.lastCommitted
        try await cluster.waitForVersion(last, on: [1, 2])
        // The old leader comes back as a peon and catches up.
        try await cluster.start(0)
        try await cluster.waitForQuorum([0, 1, 2])
        try await cluster.waitForVersion(last, on: [0])
        let targets = cluster.monitor(0)!.syncTargetNames
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: targets) }
        #expect(digests[0] == digests[1] && digests[1] == digests[2])
        for index in 0..<30 { #expect(try commitCount(ofKey: "acked-\(index)", in: cluster.stores[1]) == 1) }
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("status reports state, rank, quorum, leader and the Paxos bounds")
    func statusCommand() async throws {
        let cluster = try MonitorCluster()
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        _ = try await cluster.perform { try await client.put("k", Array("v")) }
        let statuses = try await cluster.perform {
            var statuses: [MonitorStatus?] = []
            for rank in Int32(0)..<3 { statuses.append(await client.status(of: rank)) }
            return statuses
        }
        #expect(statuses.map { $0?.state } == [.leader, .peon, .peon])
        #expect(statuses.map { $0?.rank } == [0, 1, 2])
        #expect(statuses.allSatisfy { $0?.quorum == [0, 1, 2] && $0?.leader == 0 })
        #expect(statuses[0]?.lastCommitted ?? 0 >= 1)
        #expect(statuses[0]?.firstCommitted == 1)
        await client.shutdown()
        await cluster.stopAll()
    }
}

@Suite("Cluster: durable restart", .serialized)
struct DurableRestartTests {
    @Test("a peon on RocksDB is stopped, its store closed and reopened, and recovery catches it up")
    func rocksDBPeonRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-monitor-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.start(0)
        try await cluster.start(1)
        do {
            try await cluster.start(2, store: try RocksDBStore(path: directory))
        }
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<10 { try await client.put("first-\(index)", Array("1")) } }
        let before = await cluster.monitor(0)!.lastCommitted
        try await cluster.waitForVersion(before, on: [2])
        await cluster.stop(2)
        _ = try await cluster.perform { for index in 0..<10 { try await client.put("second-\(index)", Array("2")) } }
        // The stopped monitor released the store; the directory opens again with what was committed.
        let reopened = try RocksDBStore(path: directory)
        #expect(try PaxosLog(store: reopened).lastCommitted() == before)
        try await cluster.start(2, store: reopened)
        try await cluster.waitForQuorum([0, 1, 2])
        let last = await cluster.monitor(0)!.lastCommitted
        try await cluster.waitForVersion(last, on: [2])
        let targets = cluster.monitor(0)!.syncTargetNames
        #expect(try reopened.digest(of: targets) == cluster.stores[0].digest(of: targets))
        await client.shutdown()
        await cluster.stopAll()
    }
}

@Suite("Cluster: batching", .serialized)
struct BatchingTests {
    @Test("with a propose interval, writes that arrive together are committed in one Paxos version")
    func proposeIntervalBatches() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500, proposeInterval: .seconds(1)))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let clients = [try await cluster.client(), try await cluster.client(), try await cluster.client()]
        let before = await cluster.monitor(0)!.lastCommitted
        let versions = try await cluster.perform {
            try await withThrowingTaskGroup(of: UInt64.self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask { try await client.put("batched-\(index)", Array("v")) }
                }
                return try await group.reduce(into: [UInt64]()) { $0.append($1) }
            }
        }
        #expect(Set(versions) == [before + 1])
        // Three values, three applied-tid records, and — the cluster's first writes — its required features.
        #expect(try PaxosLog(store: cluster.stores[0]).transaction(at: before + 1)?.operations.count == 3 + 3 + 1)
        for client in clients { await client.shutdown() }
        await cluster.stopAll()
    }
}
