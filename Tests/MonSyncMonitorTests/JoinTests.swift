import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

@Suite("Cluster: joining, oblivious monitors, writes during elections", .serialized)
struct JoinTests {
    @Test("an oblivious monitor (lc + 1 < the quorum's fc) asks for a full sync instead of joining")
    func obliviousMonitorNeedsSync() async throws {
        let configuration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 100)
        let cluster = try MonitorCluster(configuration: configuration)
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.waitForQuorum([0, 1])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<40 { try await client.put("k\(index)", Array("v")) } }
        let leaderFirst = await cluster.monitor(0)!.firstCommitted
        #expect(leaderFirst > 2)
        // mon.c starts with an empty store: everything it lacks is trimmed.
        let member = cluster.monmap.members[2]
        let transport = LoopbackTransport(address: try TransportAddress(member.address), network: cluster.network, options: cluster.options)
        // Without its store sync, so the decision itself is what the test sees.
        let oblivious = try Monitor(monmap: cluster.monmap, name: member.name, transport: transport, store: cluster.stores[2],
                                    configuration: configuration, runsStoreSync: false, timebase: Timebase(cluster.clock))
        try await oblivious.start()
        try await cluster.run(until: "mon.c decides", within: .seconds(10)) { await oblivious.state == .synchronizing }
        guard case let .needsFullSync(requirement)? = await oblivious.lastJoinDecision else {
            Issue.record("expected a full-sync decision")
            return
        }
        #expect(requirement.localLastCommitted == 0)
        #expect(requirement.leader?.rank == 0)
        // Known when the leader's own reply decided it (a peon's reply may come first). The leader
        // may have trimmed again since `leaderFirst` was read (trim follows commits asynchronously),
        // never backwards.
        let leaderFirstNow = await cluster.monitor(0)!.firstCommitted
        #expect(requirement.leaderFirstCommitted == nil || (leaderFirst...leaderFirstNow).contains(requirement.leaderFirstCommitted!))
        #expect(requirement.quorum == [0, 1])
        // Providers are peers known (from their replies) to hold newer versions, quorum members first.
        // The decision is taken on the first telling reply, which may be the leader's or the peon's.
        #expect(requirement.providers.first.map { [0, 1].contains($0.entity.rank) } == true)
        #expect(requirement.providers.allSatisfy { $0.lastCommitted > 0 && $0.inQuorum })
        // It stays out of elections (it probes again now and then, and decides the same); the quorum is undisturbed.
        await cluster.idle(for: .seconds(15))
        #expect(await !oblivious.state.isInQuorum)
        #expect(await cluster.monitor(0)!.status.quorum == [0, 1])
        #expect(await cluster.hasQuorum(of: [0, 1]))
        await oblivious.stop()
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("a monitor that is behind but not oblivious joins and is caught up by recovery")
    func behindButNotOblivious() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.start(0)
        try await cluster.start(1)
        try await cluster.waitForQuorum([0, 1])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<20 { try await client.put("k\(index)", Array("v")) } }
        try await cluster.start(2)
        try await cluster.waitForQuorum([0, 1, 2])
        let last = await cluster.monitor(0)!.lastCommitted
        try await cluster.waitForVersion(last, on: [2])
        #expect(await cluster.monitor(2)!.lastJoinDecision == .joinElection)
        await client.shutdown()
        await cluster.stopAll()
    }

    @Test("writes sent while the leader dies and a new one is elected are committed exactly once or refused")
    func writesDuringElection() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 5000))
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        _ = try await cluster.perform { for index in 0..<5 { try await client.put("warmup-\(index)", Array("v")) } }
        await cluster.stop(0)
        // One attempt each, to the survivors, until the new quorum serves.
        struct Outcome: Sendable { var key: String; var command: MMonCommand; var result: CommandResult? }
        let outcomes = try await cluster.perform(within: .seconds(120)) {
            var outcomes: [Outcome] = []
            var index = 0
            while true {
                let key = "during-\(index)"
                let command = MMonCommand(op: .put, clientID: client.clientID, tid: client.nextTid(), key: key, value: Array("v\(index)"))
                let reply = await client.execute(command, at: Int32(1 + index % 2), timeout: .seconds(2))
                outcomes.append(Outcome(key: key, command: command, result: reply?.result))
                index += 1
                if reply?.result == .ok && outcomes.count > 10 { break }
                if index > 200 { break }
                try await cluster.clock.sleep(for: .milliseconds(250))
            }
            return outcomes
        }
        try await cluster.waitForQuorum([1, 2])
        let results = outcomes.map(\.result)
        // While the peons still held the dead leader's lease they forwarded into the void (no reply);
        // once they noticed, they refused clearly until the new quorum formed.
        #expect(results.contains(nil))
        #expect(results.contains(.noQuorum))
        #expect(results.last == .ok)
        #expect(results.allSatisfy { $0 == nil || $0 == .ok || $0 == .noQuorum || $0 == .notLeader || $0 == .retry })
        // Resolve every write whose outcome was unknown by resending it with the same tid.
        for outcome in outcomes where outcome.result == nil || outcome.result == .retry {
            let reply = try await cluster.perform { try await client.submit(outcome.command) }
            #expect(reply.result == .ok)
        }
        let last = await cluster.monitor(1)!.lastCommitted
        try await cluster.waitForVersion(last, on: [1, 2])
        for outcome in outcomes {
            let count = try commitCount(ofKey: outcome.key, in: cluster.stores[1])
            switch outcome.result {
            case .ok?, nil, .retry?:
                #expect(count == 1, "\(outcome.key) (\(outcome.result.map { "\($0)" } ?? "no reply")) committed \(count) times")
            default:
                #expect(count == 0, "\(outcome.key) was refused (\(outcome.result!)) but committed \(count) times")
            }
        }
        await client.shutdown()
        await cluster.stopAll()
    }
}
