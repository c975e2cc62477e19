import MonSyncCore
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

/// A service with its own prefix, as an osdmap or auth service would be.
struct NotesService: MonitorService {
    var name: String { "notes" }
    var prefixes: [String] { ["notes"] }
}

@Suite("Cluster: services' own proposals", .serialized)
struct ServiceProposalTests {
    @Test("a registered service proposes through Paxos on the leader; its prefix is a sync target")
    func serviceProposes() async throws {
        let cluster = try MonitorCluster()
        var monitors: [Monitor] = []
        for member in cluster.monmap.members {
            let transport = LoopbackTransport(address: try TransportAddress(member.address), network: cluster.network, options: cluster.options)
            let monitor = try Monitor(monmap: cluster.monmap, name: member.name, transport: transport, store: cluster.stores[Int(member.rank)],
                                      configuration: cluster.configuration, timebase: Timebase(cluster.clock), services: [NotesService()])
            try await monitor.start()
            monitors.append(monitor)
        }
        #expect(monitors[0].syncTargetNames == ["kv", "kv_clients", "monmap", "notes", "paxos"])
        try await cluster.run(until: "a leader") {
            let (state, readable) = (await monitors[0].state, await monitors[0].isReadable)
            return state == .leader && readable
        }
        var firstNote = StoreTransaction()
        firstNote.put("notes", "first", Array("hello"))
        let note = firstNote
        let leader = monitors[0]
        let version = try await cluster.perform { try await leader.propose(note) }
        let all = monitors
        try await cluster.run(until: "the note everywhere") {
            for monitor in all where await monitor.lastCommitted < version { return false }
            return true
        }
        for store in cluster.stores { #expect(try store.get("notes", "first") == Array("hello")) }
        // Only the leader proposes, only on owned prefixes, never on the log itself.
        await #expect(throws: ProposalError.self) { try await monitors[1].propose(note) }
        var stray = StoreTransaction()
        stray.put("unowned", "k", Array("v"))
        await #expect(throws: ProposalError.unownedPrefix("unowned")) { try await monitors[0].propose(stray) }
        var forged = StoreTransaction()
        forged.put(PaxosLog.prefix, PaxosLog.lastCommittedKey, uint64: 999)
        await #expect(throws: ProposalError.unownedPrefix(PaxosLog.prefix)) { try await monitors[0].propose(forged) }
        await #expect(throws: ProposalError.empty) { try await monitors[0].propose(StoreTransaction()) }
        for monitor in monitors { await monitor.stop() }
    }

    @Test("a service proposal waiting when the leader loses its quorum fails clearly")
    func proposalRefusedOnQuorumLoss() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500, proposeInterval: .seconds(30)))
        var monitors: [Monitor] = []
        for member in cluster.monmap.members.prefix(2) {
            let transport = LoopbackTransport(address: try TransportAddress(member.address), network: cluster.network, options: cluster.options)
            let monitor = try Monitor(monmap: cluster.monmap, name: member.name, transport: transport, store: cluster.stores[Int(member.rank)],
                                      configuration: cluster.configuration, timebase: Timebase(cluster.clock), services: [NotesService()])
            try await monitor.start()
            monitors.append(monitor)
        }
        try await cluster.run(until: "a leader") {
            let (state, readable) = (await monitors[0].state, await monitors[0].isReadable)
            return state == .leader && readable
        }
        var lostNote = StoreTransaction()
        lostNote.put("notes", "lost", Array("x"))
        let note = lostNote
        let leader = monitors[0]
        let proposal = Task { () -> Result<UInt64, ProposalError> in
            do throws(ProposalError) { return .success(try await leader.propose(note)) } catch { return .failure(error) }
        }
        // The proposal waits for the 30 s propose interval; the peon goes away first.
        await cluster.idle(for: .seconds(1))
        await monitors[1].stop()
        try await cluster.run(until: "the proposal is answered", within: .seconds(25)) { await leader.state != .leader }
        let result = await proposal.value
        #expect(result == Result<UInt64, ProposalError>.failure(.noQuorum))
        #expect(try cluster.stores[0].get("notes", "lost") == nil)
        await leader.stop()
    }
}
