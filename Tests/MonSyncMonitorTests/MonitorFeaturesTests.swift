import MonSyncCore
import MonSyncMessages
@_spi(Testing) @testable import MonSyncMonitor
import MonSyncStore
import Testing

/// Monitor features gate what the cluster writes (the machine alone, inputs in, actions out): a
/// feature is required only once every member of the monmap supports it, and from then on a
/// monitor lacking it takes no part in elections.
@Suite("Monitor features: a rolling upgrade")
struct MonitorFeaturesTests {
    static let monmap = MachineTests.monmap
    static func address(_ rank: Int32) -> TransportAddress { monmap.address(of: rank)! }

    /// The BEGINs sent to b (each goes to c too).
    static func begins(_ actions: [MonitorAction]) -> [MMonPaxos] {
        actions.compactMap { if case let (m as MMonPaxos, to)? = $0.sentMessage, m.op == .begin, to == address(1) { m } else { nil } }
    }

    /// The transaction a BEGIN proposes.
    static func proposed(_ begin: MMonPaxos) throws -> StoreTransaction {
        try StoreTransaction(decoding: Array(try #require(begin.values.last).bytes))
    }

    /// The value `transaction` puts at `(prefix, key)`, if it puts one.
    static func put(in transaction: StoreTransaction, _ prefix: String, _ key: String) -> [UInt8]? {
        transaction.operations.lazy.compactMap { operation -> [UInt8]? in
            if case let .put(p, k, value) = operation, p == prefix, k == key { Array(value) } else { nil }
        }.last
    }

    /// A machine over a store that its persists are written to, as the shell does.
    struct Harness {
        var machine: MonitorMachine
        let store: InMemoryStore
        var now = Duration.zero

        mutating func step(_ input: MonitorInput) throws -> [MonitorAction] {
            let actions = machine.step(input, now: now)
            for case let .persist(transaction) in actions { try store.apply(transaction) }
            return actions
        }

        mutating func receive(_ message: any WireMessage, from rank: Int32) throws -> [MonitorAction] {
            try step(.message(message, from: MonitorFeaturesTests.address(rank)))
        }

        /// Commits the value in flight with b's ACCEPT.
        mutating func accept() throws -> [MonitorAction] {
            try receive(MMonPaxos(op: .accept, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: machine.lastCommitted,
                                  pn: machine.paxos.acceptedPN), from: 1)
        }

        /// PUTs of client 7's `tids` (the first proposed alone, the rest batched behind it), then
        /// b's ACCEPTs; returns the BEGINs, in order.
        mutating func write(tids: ClosedRange<UInt64>) throws -> [MMonPaxos] {
            var begins: [MMonPaxos] = []
            for tid in tids {
                let put = MMonCommand(op: .put, clientID: 7, tid: tid, key: "k", value: Array("v\(tid)".utf8))
                begins += MonitorFeaturesTests.begins(try step(.message(put, from: "loopback://client")))
            }
            for _ in 0..<4 where machine.paxos.proposal != nil { begins += MonitorFeaturesTests.begins(try accept()) }
            #expect(machine.paxos.proposal == nil, "every round committed")
            return begins
        }
    }

    /// Monitor a (rank 0, the current build) elected by the peers in `acks`, each announcing its
    /// features, then recovered; returns it and the actions of the step that finished recovery.
    static func leader(acks: [Int32: MonitorFeatures], store: InMemoryStore = InMemoryStore(),
                       configuration: MonitorConfiguration = .default) throws -> (Harness, [MonitorAction]) {
        var a = Harness(machine: try MonitorMachine(monmap: monmap, rank: 0, store: store, configuration: configuration, seed: 1, now: .zero),
                        store: store)
        _ = try a.step(.start)
        for peer in acks.keys.sorted() {
            _ = try a.receive(MMonProbe(op: .reply, senderName: monmap.members[Int(peer)].name, senderRank: peer, state: .probing,
                                        electionEpoch: 0, monmapEpoch: monmap.epoch, quorum: [], leader: nil,
                                        firstCommitted: 0, lastCommitted: 0), from: peer)
        }
        for (peer, features) in acks.sorted(by: { $0.key < $1.key }) {
            _ = try a.receive(MMonElection(op: .ack, epoch: a.machine.electionEpoch, senderRank: peer, monmapEpoch: monmap.epoch,
                                           features: features), from: peer)
        }
        if a.machine.state != .leader, let timer = a.machine.timers[.election] {
            a.now += .seconds(8)
            _ = try a.step(.timer(.election, generation: timer))
        }
        #expect(a.machine.state == .leader)
        let pn = a.machine.paxos.acceptedPN
        var actions: [MonitorAction] = []
        for peer in acks.keys.sorted() where a.machine.quorum.contains(peer) {
            actions = try a.receive(MMonPaxos(op: .last, epoch: a.machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: pn),
                                    from: peer)
        }
        return (a, actions)
    }

    @Test("a quorum of the whole monmap, every member supporting a feature, requires it with the next writes; runs are written only after")
    func requiredOnceEveryMemberSupportsIt() throws {
        var (a, recovered) = try Self.leader(acks: [1: .supported, 2: .supported])
        #expect(a.machine.quorumFeatures == .supported)
        #expect(Self.begins(recovered).isEmpty, "no version of its own: \(recovered)")

        // Three writes of one client: the first alone, with the features; the next two batched
        // behind it, their record as one run of tids 1…3 (20 bytes, where the list takes 28).
        let batch = try a.write(tids: 1...3)
        #expect(batch.count == 2)
        let first = try Self.proposed(batch[0])
        #expect(Self.put(in: first, MonmapService.prefix, MonmapService.featuresKey) == le64(1))
        #expect(Self.put(in: first, KeyValueService.clientsPrefix, KeyValueService.clientKey(7)) == le32(1) + le64(1),
                "the features apply from the next proposal on")
        #expect(a.machine.requiredFeatures == [.appliedTidRuns])
        #expect(try MonmapService().requiredFeatures(in: a.store) == [.appliedTidRuns])
        #expect(Self.put(in: try Self.proposed(batch[1]), MonmapService.prefix, MonmapService.featuresKey) == nil, "required once")
        let record = try #require(Self.put(in: try Self.proposed(batch[1]), KeyValueService.clientsPrefix, KeyValueService.clientKey(7)))
        #expect(record == [0xFF, 0xFF, 0xFF, 0xFF] + le32(1) + le64(1) + le32(3))
    }

    @Test("while one member runs an older build, nothing is required and records stay lists; a quorum without every member requires nothing either")
    func notRequiredWithAnOlderMember() throws {
        var (a, recovered) = try Self.leader(acks: [1: .supported, 2: []])
        #expect(a.machine.quorum == [0, 1, 2] && a.machine.quorumFeatures.isEmpty)
        #expect(Self.begins(recovered).isEmpty, "\(recovered)")
        let batch = try a.write(tids: 1...3)
        #expect(batch.count == 2)
        #expect(try batch.allSatisfy { Self.put(in: try Self.proposed($0), MonmapService.prefix, MonmapService.featuresKey) == nil })
        let record = try #require(Self.put(in: try Self.proposed(batch[1]), KeyValueService.clientsPrefix, KeyValueService.clientKey(7)))
        #expect(record == le32(3) + le64(1) + le64(2) + le64(3))

        // c down: a and b both support it, but c may come back as the older build.
        var (partial, _) = try Self.leader(acks: [1: .supported])
        #expect(partial.machine.quorum == [0, 1] && partial.machine.quorumFeatures == .supported)
        partial.now += .seconds(6)  // past the old leader's lease (a quorum without c waits one out)
        let partialBatch = try partial.write(tids: 1...3)
        #expect(try partialBatch.allSatisfy { Self.put(in: try Self.proposed($0), MonmapService.prefix, MonmapService.featuresKey) == nil })
        #expect(partial.machine.requiredFeatures.isEmpty)
    }

    @Test("once a feature is required, an older build's proposal gets a NAK and its ack is ignored: it never joins nor leads")
    func olderBuildRefused() throws {
        let store = InMemoryStore()
        try store.apply(MonmapService().transaction(requiring: [.appliedTidRuns]))
        // b (rank 1) hears a, an older build, propose: NAK, no ACK, no epoch move.
        var peon = try MonitorMachine(monmap: Self.monmap, rank: 1, store: store, seed: 2, now: .zero)
        #expect(peon.requiredFeatures == [.appliedTidRuns])
        _ = peon.step(.start, now: .zero)
        let epoch = peon.electionEpoch
        let old = MMonElection(op: .propose, epoch: 1, senderRank: 0, monmapEpoch: Self.monmap.epoch)
        let refused = peon.step(.message(old, from: Self.address(0)), now: .zero)
        let replies = refused.compactMap { if case let .send(m as MMonElection, to) = $0, to == Self.address(0) { m } else { nil } }
        #expect(replies.map(\.op) == [.nak] && replies[0].features == .supported, "\(refused)")
        #expect(peon.statistics.electionMessagesLackingFeatures == 1 && peon.electionEpoch == epoch)
        // The same proposal from the current build is acked.
        let current = MMonElection(op: .propose, epoch: 1, senderRank: 0, monmapEpoch: Self.monmap.epoch, features: .supported)
        let acked = peon.step(.message(current, from: Self.address(0)), now: .milliseconds(1))
        #expect(acked.contains { if case let .send(m as MMonElection, _) = $0 { m.op == .ack && m.features == .supported } else { false } })

        // a, the current build, ignores c's ack (an older build): it wins with {a, b} at the timeout.
        let (leader, _) = try Self.leader(acks: [1: .supported, 2: []], store: {
            let store = InMemoryStore()
            try store.apply(MonmapService().transaction(requiring: [.appliedTidRuns]))
            return store
        }())
        #expect(leader.machine.quorum == [0, 1])
        #expect(leader.machine.statistics.electionMessagesLackingFeatures == 1)
        // What an older build makes of a runs record: corrupt (the reason for the gate).
        let runs: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF] + le32(1) + le64(1) + le32(3)
        #expect(throws: DecodeError.self) { try KeyValueService.decodeApplied(runs, runs: false) }
        #expect(try KeyValueService.decodeApplied(runs) == [1, 2, 3])
    }

    @Test("the required features arrive with a store sync's copy and are never dropped")
    func requiredFeaturesSurviveSync() throws {
        let store = InMemoryStore()
        var machine = try MonitorMachine(monmap: Self.monmap, rank: 2, store: store, seed: 3, now: .zero)
        machine.syncsItself = true
        _ = machine.step(.start, now: .zero)
        #expect(machine.requiredFeatures.isEmpty)
        // What the sync swapped in: the provider's `monmap/features`.
        try store.apply(MonmapService().transaction(requiring: [.appliedTidRuns]))
        _ = machine.step(.syncFinished, now: .milliseconds(1))
        #expect(machine.requiredFeatures == [.appliedTidRuns])
    }
}
