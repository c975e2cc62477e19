import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import Testing

@Suite("Trim policy, join decision, service registry")
struct PolicyTests {
    let policy = TrimPolicy(paxosMin: 500, paxosTrimMin: 250, paxosTrimMax: 500, trimDisabledMaxVersions: 100)

    @Test("a trim is due after paxos_min + paxos_trim_min versions and keeps paxos_min")
    func trimTarget() {
        #expect(policy.trimTarget(firstCommitted: 1, lastCommitted: 750, heldSince: nil) == nil)
        #expect(policy.trimTarget(firstCommitted: 1, lastCommitted: 751, heldSince: nil) == 251)
        // At most paxos_trim_max per trim.
        #expect(policy.trimTarget(firstCommitted: 1, lastCommitted: 5000, heldSince: nil) == 501)
        // Held: no trim until 100 versions after the hold.
        #expect(policy.trimTarget(firstCommitted: 1, lastCommitted: 800, heldSince: 760) == nil)
        #expect(policy.trimTarget(firstCommitted: 1, lastCommitted: 860, heldSince: 760) == 360)
        #expect(policy.trimTarget(firstCommitted: 0, lastCommitted: 0, heldSince: nil) == nil)
    }

    @Test("repeated trims, each a version of its own, always come to rest (trim min and max are at least 2)")
    func trimsConverge() {
        for (trimMin, trimMax) in [(UInt64(1), UInt64(1)), (1, 500), (250, 1), (2, 2), (250, 500)] {
            let policy = TrimPolicy(paxosMin: 10, paxosTrimMin: trimMin, paxosTrimMax: trimMax, trimDisabledMaxVersions: 100)
            var (first, last): (UInt64, UInt64) = (1, 2000)
            var trims = 0
            while let target = policy.trimTarget(firstCommitted: first, lastCommitted: last, heldSince: nil), trims < 10_000 {
                #expect(target > first && last - target + 1 >= 10)
                first = target
                last += 1  // the trim's own version
                trims += 1
            }
            #expect(trims < 10_000, "trim min \(trimMin), max \(trimMax) never came to rest")
            #expect(last - first + 1 >= 10)
        }
    }

    func peer(_ rank: Int32, fc: UInt64, lc: UInt64, quorum: [Int32] = [], leader: Int32? = nil) -> PeerProbeInfo {
        PeerProbeInfo(entity: MonitorEntity(rank: rank, name: "m\(rank)", address: "loopback://m\(rank)"),
                      state: quorum.isEmpty ? .probing : (leader == rank ? .leader : .peon),
                      quorum: quorum, leader: leader, firstCommitted: fc, lastCommitted: lc)
    }

    @Test("oblivious exactly when lc + 1 < a peer's first_committed")
    func obliviousBoundary() {
        let leader = peer(0, fc: 11, lc: 40, quorum: [0, 1], leader: 0)
        #expect(JoinDecision.evaluate(localFirstCommitted: 1, localLastCommitted: 10, peers: [leader], majority: 2) == .joinElection)
        guard case let .needsFullSync(requirement)? = JoinDecision.evaluate(localFirstCommitted: 1, localLastCommitted: 9, peers: [leader], majority: 2) else {
            Issue.record("expected a full sync")
            return
        }
        #expect(requirement.leader?.rank == 0)
        #expect(requirement.leaderFirstCommitted == 11)
        #expect(requirement.providers.map(\.entity.rank) == [0])
        // A peon's reply names the leader; the monmap supplies its entity before the leader itself replies.
        let peon = peer(1, fc: 11, lc: 40, quorum: [0, 1], leader: 0)
        let map = try? MonMap(named: [("m0", "loopback://m0"), ("m1", "loopback://m1"), ("m2", "loopback://m2")])
        guard case let .needsFullSync(fromPeon)? = JoinDecision.evaluate(localFirstCommitted: 0, localLastCommitted: 0, peers: [peon],
                                                                         majority: 2, monmap: map) else {
            Issue.record("expected a full sync")
            return
        }
        #expect(fromPeon.leader?.rank == 0)
        #expect(fromPeon.leaderFirstCommitted == nil)
    }

    @Test("without a quorum, a majority found outside one starts an election")
    func noQuorum() {
        let lonely = peer(1, fc: 0, lc: 0)
        #expect(JoinDecision.evaluate(localFirstCommitted: 0, localLastCommitted: 0, peers: [], majority: 2) == nil)
        #expect(JoinDecision.evaluate(localFirstCommitted: 0, localLastCommitted: 0, peers: [lonely], majority: 2) == .joinElection)
        #expect(JoinDecision.evaluate(localFirstCommitted: 0, localLastCommitted: 0, peers: [lonely], majority: 3) == nil)
    }

    @Test("sync targets derive from registered services; reserved and shared prefixes are refused")
    func registry() throws {
        struct Extra: MonitorService {
            var name: String
            var prefixes: [String]
        }
        var registry = ServiceRegistry()
        #expect(registry.syncTargetNames == ["paxos"])
        try registry.register(KeyValueService())
        try registry.register(Extra(name: "osdmap", prefixes: ["osdmap"]))
        #expect(registry.syncTargetNames == ["kv", "kv_clients", "osdmap", "paxos"])
        #expect(throws: ServiceRegistryError.self) { try registry.register(Extra(name: "bad", prefixes: ["kv"])) }
        #expect(throws: ServiceRegistryError.self) { try registry.register(Extra(name: "bad", prefixes: [StoreLayout.protectedPrefix])) }
        #expect(throws: ServiceRegistryError.self) { try registry.register(Extra(name: "bad", prefixes: ["monitor"])) }
        #expect(throws: ServiceRegistryError.self) { try registry.register(Extra(name: "bad", prefixes: [""])) }
        #expect(registry.owner(of: "osdmap") == "osdmap")
    }
}
