import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync
import Testing

/// Monitor a (rank 0) as the active leader of {a, b, c}, its persists applied to a real store and
/// every BEGIN accepted by b at once: a leader that commits what it proposes.
struct CommittingLeader {
    static let monmap = MachineTests.monmap
    static func address(_ rank: Int32) -> TransportAddress { monmap.address(of: rank)! }

    var machine: MonitorMachine
    let store = InMemoryStore()
    var now: Duration = .zero
    /// Every action of every step, in order.
    var log: [MonitorAction] = []

    init(configuration: MonitorConfiguration) throws {
        machine = try MonitorMachine(monmap: Self.monmap, rank: 0, store: store, configuration: configuration, seed: 1, now: .zero)
        step(.start)
        for peer: Int32 in [1, 2] {
            step(.message(MMonProbe(op: .reply, senderName: Self.monmap.members[Int(peer)].name, senderRank: peer,
                                    state: .probing, electionEpoch: 0, monmapEpoch: Self.monmap.epoch, quorum: [],
                                    leader: nil, firstCommitted: 0, lastCommitted: 0), from: Self.address(peer)))
        }
        var collect: MMonPaxos?
        for peer: Int32 in [1, 2] {
            let ack = MMonElection(op: .ack, epoch: machine.electionEpoch, senderRank: peer, monmapEpoch: Self.monmap.epoch)
            for case let .send(message as MMonPaxos, _) in step(.message(ack, from: Self.address(peer))) { collect = message }
        }
        let pn = try #require(collect).pn
        for peer: Int32 in [1, 2] {
            step(.message(MMonPaxos(op: .last, epoch: machine.electionEpoch, firstCommitted: 0, lastCommitted: 0, pn: pn),
                          from: Self.address(peer)))
        }
        #expect(machine.state == .leader && machine.phaseDescription == "active", "\(machine.state) \(machine.phaseDescription) e\(machine.electionEpoch) \(machine.statistics) \(machine.lastJoinDecision.map { "\($0)" } ?? "")")
        // The new leader of a quorum of the whole monmap acts at once; time moves on anyway.
        now += .seconds(6)
    }

    /// Steps the machine, applies its persists, and has b accept every BEGIN; returns every action.
    @discardableResult
    mutating func step(_ input: MonitorInput) -> [MonitorAction] {
        var all: [MonitorAction] = []
        var inputs = [input]
        while !inputs.isEmpty {
            let actions = machine.step(inputs.removeFirst(), now: now)
            all += actions
            for action in MonitorAction.inExecutionOrder(actions) {
                switch action {
                case let .persist(transaction): try! store.apply(transaction)  // an in-memory store does not fail
                case let .sendAhead(message as MMonPaxos, destination) where message.op == .begin && destination == Self.address(1):
                    inputs.append(.message(MMonPaxos(op: .accept, epoch: message.epoch, firstCommitted: message.firstCommitted,
                                                     lastCommitted: message.lastCommitted, pn: message.pn), from: Self.address(1)))
                default: break
                }
            }
        }
        log += all
        return all
    }

    /// Commits `count` versions of client-like writes.
    mutating func write(_ count: Int) {
        for index in 0..<count {
            var transaction = StoreTransaction()
            transaction.put(KeyValueService.prefix, "key-\(machine.lastCommitted)-\(index)", [UInt8(index & 0xFF)])
            now += .milliseconds(10)
            step(.propose(id: UInt64(index), transaction))
        }
    }

    /// MMonSync messages sent, with their destination.
    var syncSends: [(MMonSync, TransportAddress)] {
        log.compactMap { if case let .send(message as MMonSync, destination) = $0 { (message, destination) } else { nil } }
    }
}

@Suite("Store sync: the leader inside the monitor")
struct SyncLeaderTests {
    static let configuration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 100, trimDisabledMaxVersions: 60)
    static let b = CommittingLeader.address(1)
    static let c = CommittingLeader.address(2)

    /// Regression (defect 2): a sync held every trim off until the log had grown by the monitor's
    /// 100 versions (while the sync layer allowed 108 000), and then each trim aborted every running
    /// sync, even one that needed nothing the trim removed: on a busy cluster a large sync never finished.
    @Test("trims that remove nothing a sync needs go ahead, up to what it needs, without aborting it")
    func harmlessTrimsGoAhead() throws {
        var configuration = Self.configuration
        configuration.trimDisabledMaxVersions = 1_000
        var leader = try CommittingLeader(configuration: configuration)
        leader.write(5)
        leader.step(.message(MMonSync(op: .start, session: 9), from: Self.c))
        #expect(leader.syncSends.last?.0.op == .startReply && leader.syncSends.last?.0.flags.contains(.retry) == false)
        let grant = try #require(leader.machine.syncLeader.grants[Self.c])
        #expect(grant.neededFrom == leader.machine.firstCommitted, "everything retained is needed until the copy's base is known")
        leader.write(95)
        #expect(leader.machine.firstCommitted == 1, "the copy's base is not known yet: nothing is trimmed")
        // The copy's base is v100: it needs v101 on. Heartbeats every 5 s keep the grant alive.
        for round in 0..<8 {
            leader.now += .seconds(5)
            leader.step(.message(MMonSync(op: .heartbeat, session: 9, sequence: UInt64(round + 1), requesterVersion: 100), from: Self.c))
            leader.write(30)
        }
        #expect(leader.machine.statistics.trimsProposed >= 1)
        #expect(leader.machine.firstCommitted == 101, "trimmed exactly up to what the sync needs")
        #expect(!leader.syncSends.contains { $0.0.op == .abort }, "no sync was aborted")
        #expect(leader.machine.syncLeader.grants[Self.c]?.session == 9)
    }

    @Test("past the threshold, only the syncs a trim would break are aborted, and their ABORT precedes the trim's BEGIN")
    func pastTheThresholdAbortsOnlyWhatBreaks() throws {
        var leader = try CommittingLeader(configuration: Self.configuration)
        leader.write(5)
        // c's copy is based on v5; b's on the latest version.
        leader.step(.message(MMonSync(op: .start, session: 9), from: Self.c))
        leader.step(.message(MMonSync(op: .heartbeat, session: 9, sequence: 1, requesterVersion: 5), from: Self.c))
        var aborted: [MonitorAction] = []
        for _ in 0..<10 where aborted.isEmpty {
            leader.write(10)
            leader.now += .seconds(1)
            leader.step(.message(MMonSync(op: .start, session: 11), from: Self.b))
            leader.step(.message(MMonSync(op: .heartbeat, session: 11, sequence: 1, requesterVersion: leader.machine.lastCommitted), from: Self.b))
            leader.step(.message(MMonSync(op: .heartbeat, session: 9, sequence: 2, requesterVersion: 5), from: Self.c))
            aborted = leader.log.filter { if case let .send(message as MMonSync, _) = $0 { message.op == .abort } else { false } }
        }
        let abortIndex = try #require(leader.log.firstIndex { if case let .send(message as MMonSync, _) = $0 { message.op == .abort } else { false } })
        guard case let .send(abort as MMonSync, destination) = leader.log[abortIndex] else { return }
        #expect(destination == Self.c && abort.session == 9 && abort.reason == .trimRequired)
        #expect(!leader.syncSends.contains { $0.0.op == .abort && $0.1 == Self.b }, "b's sync needs nothing the trim removes")
        let trimBegin = leader.log[abortIndex...].firstIndex { action in
            guard case let (message as MMonPaxos, _)? = action.sentMessage, message.op == .begin,
                  let value = message.values.first, let transaction = try? StoreTransaction(decoding: value.bytes) else { return false }
            return transaction.operations.contains { if case .erase(PaxosLog.prefix, _) = $0 { true } else { false } }
        }
        #expect(trimBegin != nil, "the trim is proposed after the ABORT")
        #expect(leader.machine.syncLeader.grants[Self.c] == nil && leader.machine.syncLeader.grants[Self.b]?.session == 11)
        #expect(leader.machine.firstCommitted > 6)
        // A late heartbeat of the aborted sync does not re-establish it.
        leader.step(.message(MMonSync(op: .heartbeat, session: 9, sequence: 3, requesterVersion: 5), from: Self.c))
        #expect(leader.syncSends.last.map { $0.0.op == .abort && $0.0.session == 9 } == true)
        #expect(leader.machine.syncLeader.grants[Self.c] == nil)
    }

    /// Regression (defect 10, suspected): `leadershipLost()` was never called, so a deposed leader
    /// kept its holds and grants.
    @Test("a leader that loses its leadership forgets every grant and holds nothing")
    func leadershipLostForgetsGrants() throws {
        var leader = try CommittingLeader(configuration: Self.configuration)
        leader.write(3)
        leader.step(.message(MMonSync(op: .start, session: 9), from: Self.c))
        #expect(leader.machine.syncLeader.grants.count == 1 && leader.machine.syncLeader.isHoldingTrim)
        // b proposes at a newer epoch: a leaves its quorum for the election.
        leader.step(.message(MMonElection(op: .propose, epoch: leader.machine.electionEpoch + 1, senderRank: 1,
                                          monmapEpoch: CommittingLeader.monmap.epoch, lastCommitted: leader.machine.lastCommitted),
                             from: Self.b))
        #expect(leader.machine.state != .leader)
        #expect(leader.machine.syncLeader.grants.isEmpty && !leader.machine.syncLeader.isHoldingTrim)
        #expect(!leader.machine.isArmed(.syncLeader))
    }

    @Test("clients cannot start a sync: a START from, or naming, a non-member is dropped and counted")
    func strangersCannotSync() throws {
        var leader = try CommittingLeader(configuration: Self.configuration)
        let stranger: TransportAddress = "tcp://10.255.255.1:6789"
        leader.step(.message(MMonSync(op: .start, session: 1), from: stranger))
        let named = MonitorEntity(rank: -1, name: "", address: "\(stranger)")
        leader.step(.message(MMonSync(op: .start, replyTo: named, session: 2), from: Self.c))
        #expect(leader.syncSends.isEmpty, "nothing is sent to an address a stranger names")
        #expect(leader.machine.syncLeader.statistics.refusedStrangers == 2)
        #expect(leader.machine.syncLeader.grants.isEmpty)
    }

    /// Regression (defect 15, observed): a lagging lowest-rank monitor won an election, found itself
    /// oblivious while leading, and ran a "sync" with itself.
    @Test("an oblivious monitor cannot lead: its election proposals are ignored")
    func obliviousProposerIgnored() throws {
        var leader = try CommittingLeader(configuration: Self.configuration)
        leader.write(40)
        #expect(leader.machine.firstCommitted > 1)
        let epoch = leader.machine.electionEpoch
        let actions = leader.step(.message(MMonElection(op: .propose, epoch: epoch + 1, senderRank: 2,
                                                        monmapEpoch: CommittingLeader.monmap.epoch, lastCommitted: 0),
                                           from: Self.c))
        #expect(leader.machine.state == .leader && leader.machine.electionEpoch == epoch, "no epoch bump, no re-election")
        #expect(!actions.contains { if case .send(is MMonElection, _) = $0 { true } else { false } }, "no ack")
        #expect(leader.machine.statistics.obliviousProposals == 1)
        // A proposer that only lags (it lacks nothing trimmed) is heard as before.
        let lc = leader.machine.firstCommitted - 1
        leader.step(.message(MMonElection(op: .propose, epoch: epoch + 1, senderRank: 2, monmapEpoch: CommittingLeader.monmap.epoch,
                                          lastCommitted: lc), from: Self.c))
        #expect(leader.machine.electionEpoch > epoch)
    }

    @Test("a START reaching a monitor that does not lead is forwarded once; a forwarded one is answered RETRY (not_leader)")
    func forwardOnce() throws {
        var machine = SyncLeaderMachine(configuration: SyncConfiguration())
        let members = CommittingLeader.monmap.members
        var random = SeededRandomNumberGenerator(seed: 1)
        let context = SyncLeaderMachine.Context(me: members[1], isLeader: false, leader: members[0], quorum: Array(members.prefix(2)),
                                                members: members, firstCommitted: 1, lastCommitted: 10,
                                                trimDisabledMaxVersions: 100, now: .zero)
        let forwarded = machine.handleStart(MMonSync(op: .start, session: 5, requesterVersion: 3), from: Self.c, context: context, random: &random)
        #expect(forwarded.count == 1 && forwarded[0].destination == CommittingLeader.address(0))
        #expect(forwarded[0].message.replyTo == members[2] && forwarded[0].message.requesterVersion == 3)
        let again = machine.handleStart(forwarded[0].message, from: Self.b, context: context, random: &random)
        #expect(again.count == 1 && again[0].destination == Self.c)
        #expect(again[0].message.flags.contains(.retry) && again[0].message.reason == .notLeader)
    }

    /// Found by the 5-monitor sync campaign: with two syncs granted, the first one's linger ended
    /// while the second ran, and stayed, so the leader's next deadline stayed in the past and its
    /// timer fired again at once, forever.
    @Test("a finished sync's linger ends on time while another sync runs: the next deadline moves on")
    func lingerEndsBesideAnotherSync() {
        var machine = SyncLeaderMachine(configuration: SyncConfiguration())
        let members = CommittingLeader.monmap.members
        var random = SeededRandomNumberGenerator(seed: 1)
        func context(_ now: Duration) -> SyncLeaderMachine.Context {
            SyncLeaderMachine.Context(me: members[0], isLeader: true, leader: members[0], quorum: members,
                                      members: members, firstCommitted: 1, lastCommitted: 10,
                                      trimDisabledMaxVersions: 100, now: now)
        }
        _ = machine.handleStart(MMonSync(op: .start, session: 1), from: Self.b, context: context(.zero), random: &random)
        _ = machine.handleStart(MMonSync(op: .start, session: 2), from: Self.c, context: context(.zero), random: &random)
        _ = machine.handleFinish(MMonSync(op: .finish, version: 10, session: 1), from: Self.b, context: context(.seconds(1)))
        // c heartbeats every 5 s; the linger (30 s) ends at 31 s.
        var now = Duration.seconds(1)
        for _ in 0..<10 {
            now += .seconds(5)
            _ = machine.handleHeartbeat(MMonSync(op: .heartbeat, session: 2, sequence: 1), from: Self.c, context: context(now))
            machine.expire(now: now)
            let next = machine.nextDeadline
            #expect(next.map { $0 > now } ?? false, "the next deadline \(String(describing: next)) is not after \(now)")
        }
        #expect(machine.grants.count == 1 && machine.isHoldingTrim)
        #expect(machine.trimFloor == 1, "c's own floor; the finished sync's is gone")
    }
}
