import MonSyncCore
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Synchronization
import Testing

/// The number of `paxos/<v>` versions actually present in `store`.
func retainedVersions(in store: any MonitorStore) throws -> [UInt64] {
    try store.snapshot(of: [PaxosLog.prefix]).allEntries().compactMap { UInt64($0.0.key) }.sorted()
}

@Suite("Cluster: trim", .serialized)
struct TrimTests {
    @Test("the leader trims through Paxos, every member alike, keeping at least paxos_min versions")
    func trimKeepsMinimum() async throws {
        let configuration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 50)
        let cluster = try MonitorCluster(configuration: configuration)
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        var minimumRetained = UInt64.max
        for batch in 0..<8 {
            _ = try await cluster.perform { for index in 0..<10 { try await client.put("k\(batch)-\(index)", Array("v")) } }
            let monitor = cluster.monitor(0)!
            let (first, last) = (await monitor.firstCommitted, await monitor.lastCommitted)
            minimumRetained = min(minimumRetained, last - first + 1)
        }
        let last = await cluster.monitor(0)!.lastCommitted
        try await cluster.waitForVersion(last, on: [0, 1, 2])
        #expect(await cluster.monitor(0)!.statistics.trimsProposed >= 3)
        #expect(minimumRetained >= configuration.paxosMin)
        for rank in 0..<3 {
            let log = PaxosLog(store: cluster.stores[rank])
            let first = try log.firstCommitted(), last = try log.lastCommitted()
            #expect(first > 1)
            #expect(last - first + 1 >= configuration.paxosMin)
            // The log holds exactly first...last: trimmed versions are gone, none is missing.
            #expect(try retainedVersions(in: cluster.stores[rank]) == Array(first...last))
        }
        let targets = cluster.monitor(0)!.syncTargetNames
        let digests = try (0..<3).map { try cluster.stores[$0].digest(of: targets) }
        #expect(digests[0] == digests[1] && digests[1] == digests[2])
        // Trimming erased old log entries, never service data.
        #expect(try cluster.stores[2].get(KeyValueService.prefix, "k0-0") == Array("v"))
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a trim hold stops trimming until it is released or the held log grows past its bound")
    func trimHold() async throws {
        let configuration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 100, trimDisabledMaxVersions: 40)
        let cluster = try MonitorCluster(configuration: configuration)
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let leader = cluster.monitor(0)!
        let client = try await cluster.client()
        let hold = await leader.holdTrim(reason: "test sync")
        #expect(await leader.trimHoldCount == 1)
        _ = try await cluster.perform { for index in 0..<30 { try await client.put("a\(index)", Array("v")) } }
        // Due, but held: nothing trimmed.
        #expect(await leader.isTrimDue)
        #expect(await leader.firstCommitted == 1)
        #expect(await leader.statistics.trimsProposed == 0)
        // Past trim_disabled_max_versions the log is trimmed anyway.
        _ = try await cluster.perform { for index in 0..<15 { try await client.put("b\(index)", Array("v")) } }
        #expect(await leader.statistics.trimsProposed >= 1)
        #expect(await leader.firstCommitted > 1)
        let (first, last) = (await leader.firstCommitted, await leader.lastCommitted)
        #expect(last - first + 1 >= configuration.paxosMin)
        await leader.releaseTrim(hold)
        #expect(await leader.trimHoldCount == 0)
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("releasing the last hold lets a due trim go ahead at once")
    func releaseTriggersTrim() async throws {
        let configuration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 100, trimDisabledMaxVersions: 1000)
        let cluster = try MonitorCluster(configuration: configuration)
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let leader = cluster.monitor(0)!
        let client = try await cluster.client()
        let first = await leader.holdTrim(reason: "one")
        let second = await leader.holdTrim(reason: "two")
        _ = try await cluster.perform { for index in 0..<25 { try await client.put("a\(index)", Array("v")) } }
        #expect(await leader.firstCommitted == 1)
        await leader.releaseTrim(first)
        await cluster.idle(for: .seconds(1))
        #expect(await leader.firstCommitted == 1)  // still one hold out
        await leader.releaseTrim(second)
        try await cluster.run(until: "trim after release", within: .seconds(10)) { await leader.firstCommitted > 1 }
        await client.shutdown()
        await cluster.stopAll()
    }
}

@Suite("Cluster: trim on a member whose log starts later", .serialized)
struct TrimFloorTests {
    /// `(first_committed, whether paxos/<first_committed> exists)` from one point-in-time snapshot.
    func logStart(of store: any MonitorStore) throws -> (UInt64, Bool) {
        let entries = try store.snapshot(of: [PaxosLog.prefix]).allEntries()
        guard let bytes = entries.first(where: { $0.0.key == PaxosLog.firstCommittedKey })?.1, bytes.count == 8 else { return (0, false) }
        let first = bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return (first, entries.contains { $0.0.key == PaxosLog.key(for: first) })
    }

    @Test("a trim never lowers a member's first_committed (a member synced from a further-trimmed log keeps its own)")
    func trimDoesNotLowerFirstCommitted() async throws {
        let configuration = MonitorConfiguration(paxosMin: 5, paxosTrimMin: 2, paxosTrimMax: 2)
        let cluster = try MonitorCluster(configuration: configuration)
        for store in cluster.stores {
            let log = PaxosLog(store: store)
            for version in UInt64(1)...12 {
                var transaction = StoreTransaction()
                transaction.put(KeyValueService.prefix, "v\(version)", Array("x"))
                try log.commit(version: version, transaction)
            }
        }
        // mon.c's log starts at 6, as after a sync from a provider that had trimmed to 6.
        try PaxosLog(store: cluster.stores[2]).trim(to: 6)
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        // The leader trims 1...12 two versions at a time: to 3, 5 (both below mon.c's 6), 7, 9, 11.
        var violations: [String] = []
        try await cluster.run(until: "trims settle", within: .seconds(30)) {
            if let (first, present) = try? logStart(of: cluster.stores[2]), first < 6 || !present {
                violations.append("fc \(first), present \(present)")
            }
            let (leaderFirst, lastOnC) = (await cluster.monitor(0)!.firstCommitted, await cluster.monitor(2)!.lastCommitted)
            return leaderFirst >= 11 && lastOnC >= 17
        }
        #expect(violations.isEmpty, "\(violations)")
        #expect(try logStart(of: cluster.stores[2]) == (11, true))
        #expect(try retainedVersions(in: cluster.stores[2]) == Array(11...17))
        #expect(await cluster.monitor(0)!.statistics.trimsProposed == 5)
        await cluster.stopAll()
    }
}
