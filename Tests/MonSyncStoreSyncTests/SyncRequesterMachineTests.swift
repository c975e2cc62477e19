import MonSyncCore
import MonSyncMessages
import MonSyncStore
import MonSyncStoreSync
import Testing

/// The requester machine alone: inputs in, actions out.
@Suite("Store sync: the requester machine")
struct SyncRequesterMachineTests {
    static let leader = MonitorEntity(rank: 0, name: "a", address: "loopback://mon.a")
    static let peon = MonitorEntity(rank: 1, name: "b", address: "loopback://mon.b")
    static let other = MonitorEntity(rank: 2, name: "c", address: "loopback://mon.c")
    static let a: TransportAddress = "loopback://mon.a"
    static let b: TransportAddress = "loopback://mon.b"
    static let c: TransportAddress = "loopback://mon.c"
    static let session: UInt64 = 77

    static func machine(configuration: SyncConfiguration = SyncConfiguration(), leader: MonitorEntity? = leader) -> SyncRequesterMachine {
        SyncRequesterMachine(configuration: configuration, targets: ["kv", "paxos"], leader: leader,
                             candidates: leader == nil ? [peon, other] : [], members: [Self.leader, peon, other],
                             session: session, floor: 0, logger: quietLogger)
    }

    static func sends(_ actions: [SyncRequesterAction]) -> [(MMonSync, TransportAddress)] {
        actions.compactMap { if case let .send(message, destination) = $0 { (message, destination) } else { nil } }
    }

    static func deadline(of timer: SyncRequesterMachine.Timer, in actions: [SyncRequesterAction]) -> (Duration, UInt64)? {
        actions.compactMap { if case let .arm(armed, at, generation) = $0, armed == timer { (at, generation) } else { nil } }.last
    }

    /// A grant naming b, with c to fail over to.
    static func grant() -> MMonSync {
        MMonSync(op: .startReply, replyTo: peon, session: session, firstCommitted: 1, quorum: [peon, other])
    }

    /// Regression (defect 6): after RETRY the next START waited for the start timeout (60 s), not the back-off (30 s).
    @Test("after RETRY, the next START goes out at the back-off, not the start timeout")
    func retryWaitsTheBackoff() throws {
        var machine = Self.machine()
        let started = machine.step(.begin, now: .zero)
        #expect(Self.sends(started).map(\.0.op) == [.start])
        #expect(Self.deadline(of: .start, in: started)?.0 == .seconds(60))
        let retry = MMonSync(op: .startReply, flags: .retry, session: Self.session, reason: .trimRequired)
        let afterRetry = machine.step(.message(retry, from: Self.a), now: .seconds(1))
        let (at, generation) = try #require(Self.deadline(of: .start, in: afterRetry))
        #expect(at == .seconds(31), "one back-off after the RETRY")
        let again = machine.step(.timer(.start, generation: generation), now: at)
        #expect(Self.sends(again).map(\.0.op) == [.start])
        #expect(machine.progress.retries == 1)
    }

    /// Regression (defect 5): the chunk timeout restarted on every stale message, so a silent
    /// provider was never replaced while anything else arrived more often than the timeout.
    @Test("a silent provider is replaced at the chunk deadline, however much stale traffic arrives meanwhile")
    func chunkDeadlineIsADeadline() throws {
        var machine = Self.machine()
        _ = machine.step(.begin, now: .zero)
        let granted = machine.step(.message(Self.grant(), from: Self.a), now: .seconds(1))
        let startChunks = try #require(Self.sends(granted).first { $0.0.op == .startChunks })
        #expect(startChunks.1 == Self.b)
        var (deadline, generation) = try #require(Self.deadline(of: .chunk, in: granted))
        #expect(deadline == .seconds(31))
        // Every second: a duplicated START_REPLY, a heartbeat reply (not stale, but no chunk), a chunk
        // of another session, a chunk from c.
        for second in 2...30 {
            let now = Duration.seconds(second)
            for (message, sender) in [(Self.grant(), Self.a), (MMonSync(op: .heartbeatReply, session: Self.session), Self.a),
                                      (MMonSync(op: .chunk, flags: .crc, session: 999, sequence: 1), Self.b),
                                      (MMonSync(op: .chunk, flags: .crc, session: Self.session, sequence: startChunks.0.sequence), Self.c)] {
                let actions = machine.step(.message(message, from: sender), now: now)
                #expect(Self.deadline(of: .chunk, in: actions) == nil, "stale traffic moved the chunk deadline at \(now)")
            }
        }
        let fired = machine.step(.timer(.chunk, generation: generation), now: deadline)
        let next = Self.sends(fired).filter { $0.0.op == .startChunks }
        #expect(next.map(\.1) == [Self.c], "failed over to c at the deadline")
        #expect(machine.progress.providerSwitches == 1 && machine.progress.staleMessages >= 3 * 29)
        (deadline, generation) = try #require(Self.deadline(of: .chunk, in: fired))
        #expect(deadline == .seconds(61))
    }

    @Test("messages from a non-member are dropped and counted, whatever they claim")
    func strangersAreIgnored() throws {
        var machine = Self.machine()
        _ = machine.step(.begin, now: .zero)
        let stranger: TransportAddress = "loopback://stranger"
        let forged = machine.step(.message(Self.grant(), from: stranger), now: .seconds(1))
        #expect(forged.isEmpty)
        let abort = MMonSync(op: .abort, session: Self.session, reason: .trimRequired)
        #expect(machine.step(.message(abort, from: stranger), now: .seconds(1)).isEmpty)
        #expect(!machine.hasEnded && machine.progress.staleMessages == 2)
    }

    @Test("heartbeats go to the leader, then to each member in turn while nobody answers")
    func heartbeatsFindTheNewLeader() throws {
        var machine = Self.machine()
        _ = machine.step(.begin, now: .zero)
        var actions = machine.step(.message(Self.grant(), from: Self.a), now: .zero)
        var destinations: [TransportAddress] = []
        for _ in 0..<8 {
            destinations += Self.sends(actions).filter { $0.0.op == .heartbeat }.map(\.1)
            let (at, generation) = try #require(Self.deadline(of: .heartbeat, in: actions))
            actions = machine.step(.timer(.heartbeat, generation: generation), now: at)
        }
        #expect(destinations.prefix(2) == [Self.a, Self.a], "the leader first")
        #expect(Set(destinations) == [Self.a, Self.b, Self.c], "then the others in turn: \(destinations)")
        #expect(machine.progress.heartbeatTimeouts == 1)
    }

    @Test("no leader known: the copy comes from the peers ahead without a grant, and no FINISH is awaited")
    func withoutALeader() throws {
        var machine = Self.machine(leader: nil)
        let actions = machine.step(.begin, now: .zero)
        #expect(Self.sends(actions).map(\.0.op) == [.startChunks])
        #expect(Self.sends(actions).first?.1 == Self.b)
        #expect(actions.contains { if case .beginStaging = $0 { true } else { false } })
        #expect(Self.deadline(of: .heartbeat, in: actions) == nil)
    }

    @Test("no leader and nobody ahead: the sync fails at once (the monitor probes again)")
    func nobodyToAsk() {
        var machine = SyncRequesterMachine(configuration: SyncConfiguration(), targets: ["kv"], leader: nil,
                                           members: [Self.peon], session: 1, floor: 0, logger: quietLogger)
        let actions = machine.step(.begin, now: .zero)
        guard case let .finished(.failure(.notGranted(_, reason)))? = actions.last else { Issue.record("\(actions)"); return }
        #expect(reason == "no leader known")
        #expect(machine.hasEnded)
    }

    /// Regression (defect 13, observed): a finished sync still showed an ETA (with RocksDB's
    /// size estimate above what was copied).
    @Test("an ETA only while streaming: none once the copy is done or failed")
    func etaOnlyWhileStreaming() {
        var progress = SyncProgress()
        progress.bytes = 50 << 20
        progress.estimatedBytes = 100 << 20
        progress.elapsed = .seconds(1)
        progress.phase = .streaming
        #expect(progress.eta == .seconds(1))
        for phase in [SyncProgress.Phase.swapping, .done, .failed] {
            progress.phase = phase
            #expect(progress.eta == nil, "\(phase)")
        }
    }
}
