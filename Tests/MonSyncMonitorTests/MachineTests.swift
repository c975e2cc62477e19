import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import Testing

/// The state machine alone: inputs in, actions out — no network, no clock, no tasks.
@Suite("Monitor machine")
struct MachineTests {
    static let monmap = try! MonMap(parsing: "a=loopback://mon.a,b=loopback://mon.b,c=loopback://mon.c")
    static func address(_ rank: Int32) -> TransportAddress { monmap.address(of: rank)! }

    /// Monitor a (rank 0) driven to an active leader of {a, b, c}; returns it and the time.
    static func leader(configuration: MonitorConfiguration = .default, seed: UInt64 = 1) throws -> (MonitorMachine, Duration) {
        var machine = try MonitorMachine(monmap: monmap, rank: 0, store: InMemoryStore(), configuration: configuration,
                                         seed: seed, now: .zero)
        var now = Duration.zero
        _ = machine.step(.start, now: now)
        for peer: Int32 in [1, 2] {
            let reply = MMonProbe(op: .reply, senderName: monmap.members[Int(peer)].name, senderRank: peer, state: .probing,
                                  electionEpoch: 0, monmapEpoch: monmap.epoch, quorum: [], leader: nil,
                                  firstCommitted: 0, lastCommitted: 0)
            _ = machine.step(.message(reply, from: address(peer)), now: now)
        }
        #expect(machine.state == .electing)
        var collect: MMonPaxos?
        for peer: Int32 in [1, 2] {
            let ack = MMonElection(op: .ack, epoch: machine.electionEpoch, senderRank: peer, monmapEpoch: monmap.epoch)
            for case let .send(message as MMonPaxos, _) in machine.step(.message(ack, from: address(peer)), now: now) { collect = message }
        }
        #expect(machine.state == .leader)
        let pn = try #require(collect).pn
        now += .milliseconds(10)
        for peer: Int32 in [1, 2] {
            let last = MMonPaxos(op: .last, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: pn)
            _ = machine.step(.message(last, from: address(peer)), now: now)
        }
        #expect(machine.phaseDescription == "active")
        return (machine, now)
    }

    static func leases(_ actions: [MonitorAction]) -> [MMonPaxos] {
        actions.compactMap { if case let (message as MMonPaxos, _)? = $0.sentMessage, message.op == .lease { message } else { nil } }
    }

    @Test("a leader reads only under a lease round a majority acked, for lease·(1 − 2·skew) from its sending")
    func leaderLease() throws {
        var (machine, now) = try Self.leader()
        #expect(!machine.isReadable(at: now), "no round acked yet")
        // Round 1 went out when recovery finished; b acks it 100 ms later.
        let ack = MMonPaxos(op: .leaseAck, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: 1)
        _ = machine.step(.message(ack, from: Self.address(1)), now: now + .milliseconds(100))
        #expect(machine.isReadable(at: now + .milliseconds(100)))
        let end = now + .seconds(5) * 0.9
        #expect(machine.isReadable(at: end - .milliseconds(1)))
        #expect(!machine.isReadable(at: end), "the lease counts from when round 1 was sent, shortened by 2·skew")
        // An ack of a round never sent proves nothing.
        let bogus = MMonPaxos(op: .leaseAck, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: 99)
        _ = machine.step(.message(bogus, from: Self.address(2)), now: end)
        #expect(!machine.isReadable(at: end))
    }

    @Test("a peon forwards reads to the leader; it never answers them from its own store")
    func peonForwardsReads() throws {
        var machine = try MonitorMachine(monmap: Self.monmap, rank: 1, store: InMemoryStore(), seed: 2, now: .zero)
        _ = machine.step(.start, now: .zero)
        let victory = MMonElection(op: .victory, epoch: 2, senderRank: 0, monmapEpoch: Self.monmap.epoch, quorum: [0, 1, 2])
        _ = machine.step(.message(victory, from: Self.address(0)), now: .zero)
        let lease = MMonPaxos(op: .lease, epoch: 2, firstCommitted: 0, lastCommitted: 0, pn: 1, leaseMilliseconds: 5_000)
        _ = machine.step(.message(lease, from: Self.address(0)), now: .milliseconds(5))
        #expect(machine.state == .peon && machine.phaseDescription == "active")
        let get = MMonCommand(op: .get, clientID: 7, tid: 1, key: "k")
        let actions = machine.step(.message(get, from: "loopback://client"), now: .milliseconds(10))
        #expect(actions.count == 1)
        guard case let .send(forwarded as MMonCommand, to) = actions.first else { Issue.record("\(actions)"); return }
        #expect(to == Self.address(0) && forwarded.flags.contains(.forwarded) && forwarded.replyTo == "loopback://client")
    }

    @Test("a peon persists what it accepts before it says ACCEPT; a commit is persisted before the client's OK; BEGIN, COMMIT and LEASE go ahead")
    func persistBeforeSend() throws {
        func isPaxos(_ op: MMonPaxos.Op) -> (MonitorAction) -> Bool {
            { if case let (m as MMonPaxos, _)? = $0.sentMessage { m.op == op } else { false } }
        }
        let isPersist = { (action: MonitorAction) in if case .persist = action { true } else { false } }
        var (machine, now) = try Self.leader(configuration: MonitorConfiguration(proposeInterval: .zero))
        // After its predecessor's lease: a new leader of the whole monmap need not wait.
        let put = MMonCommand(op: .put, clientID: 7, tid: 1, key: "k", value: Array("v".utf8))
        let begin = machine.step(.message(put, from: "loopback://client"), now: now)
        // BEGIN promises nothing the leader's own write records: it leaves first, so the peons
        // write the value while the leader does.
        let beginAhead = begin.filter(isPaxos(.begin))
        #expect(beginAhead.count == 2 && beginAhead.allSatisfy { if case .sendAhead = $0 { true } else { false } }, "\(begin)")
        let ordered = MonitorAction.inExecutionOrder(begin)
        let beginIndex = try #require(ordered.firstIndex(where: isPaxos(.begin)))
        let persistIndex = try #require(ordered.firstIndex(where: isPersist))
        #expect(beginIndex < persistIndex, "\(ordered)")
        now += .milliseconds(5)
        let accept = MMonPaxos(op: .accept, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: machine.paxos.acceptedPN)
        let commit = machine.step(.message(accept, from: Self.address(1)), now: now)
        let firstPersist = try #require(commit.firstIndex(where: isPersist))
        // Every ordered send — the client's OK above all — follows the commit's persist.
        let sends = commit.indices.filter { if case .send = commit[$0] { true } else { false } }
        #expect(!sends.isEmpty && sends.allSatisfy { $0 > firstPersist }, "\(commit)")
        let ok = commit.contains { if case let .send(reply as MMonCommandReply, _) = $0 { reply.result == .ok && reply.version == 1 } else { false } }
        #expect(ok)
        // COMMIT and LEASE go ahead, in the order the peons must see them.
        let executed = MonitorAction.inExecutionOrder(commit)
        let commitIndex = try #require(executed.firstIndex(where: isPaxos(.commit)))
        let leaseIndex = try #require(executed.firstIndex(where: isPaxos(.lease)))
        let executedPersist = try #require(executed.firstIndex(where: isPersist))
        #expect(commitIndex < leaseIndex && leaseIndex < executedPersist, "\(executed)")
        #expect(machine.lastCommitted == 1)

        // A peon: BEGIN → persist, then ACCEPT, which never goes ahead: it is the vote the persist makes durable.
        var peon = try MonitorMachine(monmap: Self.monmap, rank: 2, store: InMemoryStore(), seed: 3, now: .zero)
        _ = peon.step(.start, now: .zero)
        _ = peon.step(.message(MMonElection(op: .victory, epoch: 2, senderRank: 0, monmapEpoch: Self.monmap.epoch, quorum: [0, 1, 2]),
                               from: Self.address(0)), now: .zero)
        let value = MMonPaxos.Value(version: 1, bytes: ArraySlice(StoreTransaction().encoded()))
        let actions = MonitorAction.inExecutionOrder(peon.step(.message(MMonPaxos(op: .begin, epoch: 2, firstCommitted: 0, lastCommitted: 0, pn: 100, values: [value]),
                                         from: Self.address(0)), now: .milliseconds(1)))
        guard actions.count == 2, case .persist = actions[0], case let .send(reply as MMonPaxos, _) = actions[1], reply.op == .accept else {
            Issue.record("expected persist, then ACCEPT: \(actions)")
            return
        }
    }

    @Test("a leader elected without the whole monmap acknowledges no write for one lease")
    func newLeaderWaitsOutTheOldLease() throws {
        var machine = try MonitorMachine(monmap: Self.monmap, rank: 0, store: InMemoryStore(), seed: 4, now: .zero)
        _ = machine.step(.start, now: .zero)
        let reply = MMonProbe(op: .reply, senderName: "b", senderRank: 1, state: .probing, electionEpoch: 0,
                              monmapEpoch: Self.monmap.epoch, quorum: [], leader: nil, firstCommitted: 0, lastCommitted: 0)
        _ = machine.step(.message(reply, from: Self.address(1)), now: .zero)
        _ = machine.step(.message(MMonElection(op: .ack, epoch: machine.electionEpoch, senderRank: 1, monmapEpoch: Self.monmap.epoch),
                                  from: Self.address(1)), now: .zero)
        // The election timer fires with b's ack only: victory with {a, b}.
        let timeout = try #require(machine.timers[.election])
        _ = machine.step(.timer(.election, generation: timeout), now: .seconds(8))
        #expect(machine.state == .leader && machine.quorum == [0, 1])
        let pn = machine.paxos.acceptedPN
        _ = machine.step(.message(MMonPaxos(op: .last, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: pn),
                                  from: Self.address(1)), now: .seconds(8))
        #expect(machine.phaseDescription == "active")
        let put = MMonCommand(op: .put, clientID: 7, tid: 1, key: "k", value: Array("v".utf8))
        let early = machine.step(.message(put, from: "loopback://client"), now: .seconds(9))
        #expect(!early.contains { if case let (m as MMonPaxos, _)? = $0.sentMessage { m.op == .begin } else { false } },
                "no proposal inside the old leader's lease: \(early)")
        let wake = try #require(machine.timers[.propose])
        let late = machine.step(.timer(.propose, generation: wake), now: .seconds(13))
        #expect(late.contains { if case let (m as MMonPaxos, _)? = $0.sentMessage { m.op == .begin } else { false } }, "\(late)")
    }

    @Test("election timeouts differ between monitors and double after each election without a victory")
    func electionBackOff() throws {
        func electionDeadline(_ actions: [MonitorAction]) -> Duration? {
            for case let .arm(.election, deadline, _) in actions { return deadline }
            return nil
        }
        var deadlines: Set<Duration> = []
        for seed: UInt64 in 1...8 {
            var machine = try MonitorMachine(monmap: Self.monmap, rank: 0, store: InMemoryStore(), seed: seed, now: .zero)
            _ = machine.step(.start, now: .zero)
            let reply = MMonProbe(op: .reply, senderName: "b", senderRank: 1, state: .probing, electionEpoch: 0,
                                  monmapEpoch: Self.monmap.epoch, quorum: [], leader: nil, firstCommitted: 0, lastCommitted: 0)
            let first = try #require(electionDeadline(machine.step(.message(reply, from: Self.address(1)), now: .zero)))
            #expect(first >= .seconds(5) && first < .seconds(7.5))
            deadlines.insert(first)
            // No ack: the election fails; the next one waits about twice as long.
            var now = first
            _ = machine.step(.timer(.election, generation: machine.timers[.election]!), now: now)
            #expect(machine.state == .probing && machine.electionBackoff == 1)
            now += .seconds(1)
            let second = try #require(electionDeadline(machine.step(.message(reply, from: Self.address(1)), now: now)))
            #expect(second - now >= .seconds(10) && second - now < .seconds(15))
        }
        #expect(deadlines.count == 8, "seeded jitter: \(deadlines)")
    }
}
