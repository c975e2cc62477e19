import HeapModule
import Logging
import MonSyncCore
import MonSyncMessages
@_spi(Testing) import MonSyncMonitor
import MonSyncStore
@_spi(Testing) import MonSyncStoreSync

/// A deterministic simulation of one monitor cluster: the real `MonitorMachine`s on a
/// simulated network and clock, with crashes, partitions, loss, duplication and reordering,
/// clients writing and reading, and checkers run on what happened.
///
/// Everything follows from one seed: the same seed replays the same history, event for event.
/// A run has three phases: *faults* (``SimulationOptions/steps`` events with faults injected),
/// *heal* (every partition healed, every monitor restarted, the network clean: a write must be
/// acknowledged within ``SimulationOptions/livenessBound``), and *settle* (the clients stop; the
/// monitors must converge on one quorum and one state). With
/// ``SimulationOptions/membershipChanges``, "every monitor" is every member of the newest
/// committed monmap, in one quorum under that map, and every removed monitor still running must
/// know it was removed.
public final class Simulation {
    let options: SimulationOptions
    let seed: UInt64
    var random: SeededRandomNumberGenerator
    let monmap: MonMap
    var nodes: [SimulatedNode] = []
    var clients: [SimulatedClient] = []
    var events = Heap<SimulatedEvent>()
    var sequence: UInt64 = 0
    /// The global clock, in nanoseconds.
    var now: UInt64 = 0
    /// Ordered pairs (from, to) of monitor indices whose messages are lost.
    var cut: Set<[Int]> = []
    /// A network link: sender (address) to monitor rank, or to client `-1 - index`.
    struct Link: Hashable { var from: String; var to: Int }
    /// When the last in-order message on each link is delivered.
    var linkClear: [Link: UInt64] = [:]
    var faultsOn = true
    var clientsOn = true
    var stepsRun = 0
    var history: [KVOperationRecord] = []
    var ledger: CommitLedger
    /// Where each monitor's current life listens: messages to another address are not delivered.
    var addressSlots: [TransportAddress: Int] = [:]
    /// The leaders' commits (``MonitorMachine/CommitRecord``), by leader name: the membership checker's input.
    var commitRecords: [(leader: String, record: MonitorMachine.CommitRecord)] = []
    /// Commit records left out of ``commitRecords`` because the leader's own acceptance was never
    /// persisted (it crashed part-way through the step that accepted and committed): no decision.
    var undurableCommitsIgnored = 0
    /// The membership scenario: the operator's changes, and the newest monmap epoch it has acted on.
    var membershipOperations: [MembershipOperation] = []
    var operatorEpoch: UInt32 = 1
    var violations: [String] = []
    var trace: [String] = []
    /// Store syncs that swapped a copy in, and those that failed (live data untouched).
    var syncsCompleted = 0
    var syncsFailed = 0
    /// The monitor that has not started yet (``SimulationOptions/lateJoiner``).
    var lateJoiner: Int?
    /// Writes acknowledged while the monitors rejoined after the heal, and how long that took (ns).
    var rejoin: (writes: Int, nanoseconds: UInt64) = (0, 0)
    /// The service data as of ``referenceVersion``, replayed from the ledger: what a synced copy must equal.
    lazy var reference = newStore()
    var referenceVersion: UInt64 = 0
    /// Events handled since simulated time last moved: a machine that re-arms a timer at a deadline
    /// already past (or two that answer each other at once, forever) never lets time move, and a
    /// run would hang instead of failing. Past ``SimulationOptions/livelockEvents`` the run stops.
    var eventsThisInstant = 0
    var livelocked = false
    let logger: Logger
    let codec = MessageCodec.monitor()

    /// A simulation of `options` driven by `seed`.
    public init(options: SimulationOptions, seed: UInt64) {
        self.seed = seed
        random = SeededRandomNumberGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        var options = options
        if options.varyElectionTimeout {
            // Elections from much faster than the lease to Ceph's default: the lease must hold either way.
            options.configuration.electionTimeout = [.seconds(1), .seconds(2), .seconds(3), .seconds(5)].randomElement(using: &random)!
        }
        self.options = options
        // The membership scenario's pool: every monitor that may ever be a member, the first
        // `monitors` of them members from the start.
        let pool = options.membershipChanges ? max(options.monitorPool, options.monitors) : options.monitors
        let names = (0..<pool).map { "m\($0)" }
        monmap = try! MonMap(named: names.prefix(options.monitors).map { ($0, "loopback://\($0)") })  // valid by construction
        ledger = CommitLedger(tracksMonmaps: options.membershipChanges)
        var logger = Logger(label: "monsync.simulation")
        logger.logLevel = .critical
        self.logger = logger
        for rank in 0..<pool {
            let drift = options.clockRateDrift
            let address = try! TransportAddress("loopback://\(names[rank])")
            var node = SimulatedNode(rank: rank, name: names[rank], address: address,
                                     rate: 1 + Double.random(in: -drift...drift, using: &random),
                                     offset: UInt64.random(in: 0...1_000_000_000, using: &random))
            node.store = newStore()
            if rank < options.monitors {
                node.lives = 1
                node.configuredMap = monmap
            } else {
                node.intended = false
            }
            addressSlots[address] = rank
            nodes.append(node)
        }
        for index in 0..<options.clients {
            clients.append(SimulatedClient(index: index, address: try! TransportAddress("loopback://client\(index)"),
                                           clientID: 0xC1_0000 + UInt64(index)))
        }
        if options.membershipChanges {
            var admin = SimulatedClient(index: options.clients, address: "loopback://operator",
                                        clientID: 0xAD_0000)
            admin.isOperator = true
            clients.append(admin)
        }
    }

    // MARK: Running

    /// Runs the three phases and the checkers.
    public func run() -> SimulationResult {
        lateJoiner = options.lateJoiner ? Int.random(in: 0..<options.monitors, using: &random) : nil
        for rank in nodes.indices where rank != lateJoiner && nodes[rank].intended { start(rank) }
        for index in clients.indices {
            let delay: ClosedRange<Int64> = clients[index].isOperator ? 2_000...10_000 : 100...2_000
            schedule(after: .milliseconds(Int64.random(in: delay, using: &random)), .clientTick(client: index, attempt: 0))
        }
        // Faults.
        while !livelocked, stepsRun < options.steps, let event = events.popMin() {
            handle(event)
            injectFaults()
            startLateJoinerAfterFirstTrim()
        }
        if livelocked { return result() }
        // Heal: a write must be acknowledged within the bound.
        let healedAt = now
        healEverything()
        let healDeadline = healedAt + nanoseconds(options.livenessBound)
        runUntil(healDeadline) { self.history.contains { $0.isWrite && $0.outcome == .ok && ($0.completed ?? 0) > healedAt } }
        if livelocked { return result() }
        if !history.contains(where: { $0.isWrite && $0.outcome == .ok && ($0.completed ?? 0) > healedAt }) {
            violations.append("liveness: no write acknowledged within \(options.livenessBound) after the faults healed at t=\(Self.format(healedAt)); \(describeNodes())")
        }
        // Every monitor back in one quorum while the clients go on writing: a monitor that must
        // sync finishes its sync under a steady write load (Ceph's F2: syncs aborted forever).
        let rejoinDeadline = now + nanoseconds(options.livenessBound)
        let (rejoinStart, writesBefore) = (now, acknowledgedWrites)
        runUntil(rejoinDeadline) { self.everyoneInQuorum }
        rejoin = (acknowledgedWrites - writesBefore, now - rejoinStart)
        if livelocked { return result() }
        if !everyoneInQuorum {
            violations.append("liveness: not every monitor rejoined the quorum within \(options.livenessBound) while clients wrote; \(describeNodes())")
        }
        // Settle: clients stop; one quorum of every monitor, one state.
        clientsOn = false
        let settleDeadline = now + nanoseconds(options.livenessBound)
        runUntil(settleDeadline) { self.converged && self.clients.allSatisfy { $0.pending == nil } }
        if livelocked { return result() }
        if !converged {
            violations.append("liveness: the monitors did not converge within \(options.livenessBound) of the heal phase; \(describeNodes())")
        } else {
            checkConvergedState()
        }
        checkDurability()
        let verdict = LinearizabilityChecker().check(history.map(\.operation))
        switch verdict {
        case .linearizable: break
        case .unknown(let key): violations.append("linearizability: search budget exhausted on key \(key) (counted as a violation)")
        case .violation: violations.append("linearizability: \(LinearizabilityChecker().describe(verdict))")
        }
        violations.append(contentsOf: ledger.violations)
        checkMembership()
        return result()
    }

    private func result() -> SimulationResult {
        SimulationResult(seed: seed, steps: stepsRun, operations: history.count,
                         acknowledged: history.filter { $0.outcome != .unknown }.count,
                         commits: ledger.values.count, syncsCompleted: syncsCompleted, syncsFailed: syncsFailed,
                         rejoinWrites: rejoin.writes, rejoinNanoseconds: rejoin.nanoseconds,
                         monmapChanges: ledger.monmaps.count, undurableCommitsIgnored: undurableCommitsIgnored,
                         isolatedOutsiders: isolatedOutsiders(latestMonmap),
                         featuresRequired: nodes.contains { !($0.machine?.requiredFeatures.isEmpty ?? true) },
                         violations: violations, trace: trace)
    }

    /// Schedules the late joiner's start a few seconds after the first trim anywhere.
    private func startLateJoinerAfterFirstTrim() {
        guard let late = lateJoiner, nodes.contains(where: { ($0.machine?.firstCommitted ?? 0) > 1 }) else { return }
        lateJoiner = nil
        schedule(after: .milliseconds(Int64.random(in: 0...5_000, using: &random)), .restart(rank: late, incarnation: 0))
        note("\(nodes[late].name) will join late, with an empty store")
    }

    private func runUntil(_ deadline: UInt64, _ done: () -> Bool) {
        while !livelocked, !done(), let next = events.min, next.time <= deadline, let event = events.popMin() {
            handle(event)
        }
    }

    private var acknowledgedWrites: Int { history.count { $0.isWrite && $0.outcome == .ok } }

    /// Every member of the newest committed monmap is up, follows that map and is in a quorum of all
    /// of them; every other monitor still running knows it was removed.
    private var everyoneInQuorum: Bool {
        let latest = latestMonmap
        let everyone = latest.ranks
        return memberSlots(of: latest).allSatisfy { slot in
            nodes[slot].machine.map { $0.state.isInQuorum && $0.quorum == everyone && $0.monmap.epoch == latest.epoch } ?? false
        } && outsidersRemoved(latest)
    }

    /// ``everyoneInQuorum``, with one leader, one last_committed, and every round finished.
    private var converged: Bool {
        let latest = latestMonmap
        let members = memberSlots(of: latest)
        guard let first = members.first.flatMap({ nodes[$0].machine }), first.state.isInQuorum else { return false }
        let everyone = latest.ranks
        return members.allSatisfy { slot in
            guard let machine = nodes[slot].machine else { return false }
            return machine.state.isInQuorum && machine.quorum == everyone && machine.leader == first.leader
                && machine.lastCommitted == first.lastCommitted && machine.phaseDescription == "active"
                && machine.monmap.epoch == latest.epoch
        } && outsidersRemoved(latest)
    }

    // MARK: Events

    func schedule(at time: UInt64, _ kind: SimulatedEvent.Kind) {
        sequence += 1
        events.insert(SimulatedEvent(time: time, sequence: sequence, kind: kind))
    }

    func schedule(after delay: Duration, _ kind: SimulatedEvent.Kind) {
        schedule(at: now + nanoseconds(delay), kind)
    }

    private func handle(_ event: SimulatedEvent) {
        if event.time > now {
            now = event.time
            eventsThisInstant = 0
        } else {
            eventsThisInstant += 1
            if eventsThisInstant >= options.livelockEvents {
                livelocked = true
                violations.append("liveness: livelock, \(eventsThisInstant) events at t=\(Self.format(now)) without simulated time moving (the last: \(event.kind)); \(describeNodes())")
                return
            }
        }
        stepsRun += 1
        switch event.kind {
        case let .deliver(message, sender, rank, life):
            guard nodes[rank].machine != nil, nodes[rank].lives == life else { return }
            note("\(nodes[rank].name) ← \(message) from \(sender)")
            if let sync = message as? MMonSync, sync.op.isForRequester {
                // The shell routes the requester's ops to its driver, not to the monitor.
                stepRequester(rank, .message(sync, from: sender))
            } else {
                step(rank, .message(message, from: sender))
            }
        case let .timer(rank, timer, generation, incarnation):
            guard nodes[rank].incarnation == incarnation, nodes[rank].machine != nil else { return }
            note("\(nodes[rank].name) timer \(timer)")
            step(rank, .timer(timer, generation: generation))
        case let .clientReply(index, reply):
            clientReceived(index, reply)
        case let .clientTick(index, attempt):
            clientTick(index, attempt: attempt)
        case let .clientResend(index, attempt):
            if clients[index].pending?.attempt == attempt { transmit(index) }
        case let .restart(rank, incarnation):
            guard nodes[rank].incarnation == incarnation, nodes[rank].machine == nil, nodes[rank].intended else { return }
            start(rank)
        case let .operatorStart(slot):
            operatorStart(slot)
        case let .operatorStop(slot, life):
            operatorStop(slot, life: life)
        case let .syncDone(rank, incarnation):
            guard nodes[rank].incarnation == incarnation, nodes[rank].machine?.state == .synchronizing else { return }
            step(rank, .syncFinished)
        case let .syncTimer(rank, timer, generation, incarnation):
            guard nodes[rank].incarnation == incarnation else { return }
            note("\(nodes[rank].name) sync timer \(timer)")
            stepRequester(rank, .timer(timer, generation: generation))
        }
    }

    /// An empty store as this build creates one for a new cluster (Ceph's `mkfs`): it requires every
    /// feature the build supports, so the cluster never runs the upgrade — except in the
    /// rolling-upgrade scenario, whose stores start as the previous build left them, requiring none.
    func newStore() -> InMemoryStore {
        let store = InMemoryStore()
        if !options.rollingUpgrade {
            // An in-memory store's apply does not fail.
            try? store.apply(MonmapService().transaction(requiring: .supported))
        }
        return store
    }

    /// Starts (or restarts) a monitor from what its store holds.
    func start(_ rank: Int) {
        nodes[rank].incarnation += 1
        do {
            // As the shell does: a sync interrupted before its swap is discarded (live data untouched).
            if try nodes[rank].store.syncMarker() != nil { try nodes[rank].store.abandonStaging() }
            // A monitor starts with the map it was configured with (the initial map, or the one that
            // added it); the machine follows a newer one its store holds.
            let configured = nodes[rank].configuredMap ?? monmap
            var machine = try MonitorMachine(monmap: configured, rank: configured.member(named: nodes[rank].name)?.rank ?? Int32(rank),
                                             store: nodes[rank].store,
                                             configuration: options.configuration,
                                             syncConfiguration: options.syncConfiguration, seed: random.next(),
                                             now: localTime(of: rank), logger: logger)
            machine.syncsItself = true
            machine.mutations = options.mutations
            if options.rollingUpgrade && !nodes[rank].upgraded { machine.supportedFeatures = [] }
            machine.recordsCommits = true
            nodes[rank].machine = machine
        } catch {
            violations.append("store: mon.\(nodes[rank].name) cannot restart from its store: \(error)")
            return
        }
        note("\(nodes[rank].name) starts (incarnation \(nodes[rank].incarnation), lc \(nodes[rank].machine!.lastCommitted))")
        step(rank, .start)
    }

    func crash(_ rank: Int) {
        guard nodes[rank].machine != nil else { return }
        note("\(nodes[rank].name) CRASHES")
        // The rolling-upgrade scenario: it restarts as the current build.
        nodes[rank].upgraded = true
        nodes[rank].machine = nil
        nodes[rank].requester = nil
        nodes[rank].incarnation += 1
        if faultsOn {
            schedule(after: .milliseconds(Int64.random(in: 500...15_000, using: &random)),
                     .restart(rank: rank, incarnation: nodes[rank].incarnation))
        }
    }

    /// Feeds `input` to monitor `rank` and executes its actions (possibly crashing part-way).
    private func step(_ rank: Int, _ input: MonitorInput) {
        guard var machine = nodes[rank].machine else { return }
        let before = options.recordTrace ? describe(machine) : ""
        let (failuresBefore, requiredBefore) = (machine.statistics.storeFailures, machine.requiredFeatures)
        let actions = MonitorAction.inExecutionOrder(machine.step(input, now: localTime(of: rank)),
                                                     keepingLinkOrder: !options.mutations.contains(.aheadPastLinkOrder))
        let records = machine.takeCommitRecords()
        nodes[rank].machine = machine
        if options.rollingUpgrade {
            checkUpgrade(of: rank, machine, failuresBefore: failuresBefore, requiredBefore: requiredBefore)
        }
        // Sends of this step were decided before it adopted a removal (at the step's end); later ones are checked.
        defer { if nodes[rank].machine?.state == .removed { nodes[rank].removedInLife = true } }
        // What a monitor holds for others' syncs is bounded, whatever they send.
        let backups = machine.syncProvider.activeBackupSessions
        if machine.syncProvider.activeSessions - backups > options.syncConfiguration.maxProviderSessions
            || backups > options.syncConfiguration.maxBackupSessions
            || machine.syncLeader.grants.count >= nodes.count {
            violations.append("sync: mon.\(nodes[rank].name) holds \(machine.syncProvider.activeSessions) provider sessions and \(machine.syncLeader.grants.count) grants")
        }
        if options.recordTrace, case let after = describe(machine), after != before {
            note("\(nodes[rank].name) is now \(after)")
        }
        let crashAfter = faultsOn && random.chance(options.midStepCrashRate) && !actions.isEmpty
            ? Int.random(in: 0..<actions.count, using: &random) : nil
        for (index, action) in actions.enumerated() {
            if index == crashAfter {
                note("\(nodes[rank].name) crashes after \(index) of \(actions.count) actions")
                noteCommitRecords(records, of: rank, lost: actions[index...])
                return crash(rank)
            }
            execute(action, on: rank)
        }
        noteCommitRecords(records, of: rank, lost: [])
    }

    /// Keeps the leader's commit records for the membership checker, except a commit whose leader
    /// accepted the value in the same step (a single member) and crashed before that acceptance
    /// was persisted: nothing durable was decided, and the value may be proposed anew.
    private func noteCommitRecords(_ records: [MonitorMachine.CommitRecord], of rank: Int, lost: ArraySlice<MonitorAction>) {
        let unpersisted = lost.flatMap { action -> [[UInt8]] in
            guard case let .persist(transaction) = action else { return [] }
            return transaction.operations.compactMap { operation in
                guard case let .put(_, key, value) = operation, key == MonitorMachine.pendingValueKey else { return nil }
                return Array(value)
            }
        }
        for record in records {
            if unpersisted.contains(record.value) {
                undurableCommitsIgnored += 1
                note("\(nodes[rank].name)'s commit of v\(record.version) is no decision: its acceptance was never persisted")
                continue
            }
            commitRecords.append((nodes[rank].name, record))
        }
    }

    private func execute(_ action: MonitorAction, on rank: Int) {
        switch action {
        case let .persist(transaction):
            do { try nodes[rank].store.apply(transaction) } catch {
                violations.append("store: apply failed on mon.\(nodes[rank].name): \(error)")
            }
            ledger.observe(transaction, on: nodes[rank].name, at: now)
            if options.membershipChanges { noticeCommittedMonmap() }
        case let .send(message, destination), let .sendAhead(message, destination):
            send(message, from: rank, to: destination)
        case let .answerStatus(reply, destination):
            send(reply, from: rank, to: destination)
        case let .arm(timer, deadline, generation):
            schedule(at: globalTime(of: rank, local: deadline),
                     .timer(node: rank, timer, generation: generation, incarnation: nodes[rank].incarnation))
        case .cancel, .finishProposal:
            break
        case let .needsFullSync(requirement):
            guard nodes[rank].requester == nil, let machine = nodes[rank].machine else { return }
            let floor = max((try? nodes[rank].store.lastCommittedFloor()) ?? 0, machine.lastCommitted)
            nodes[rank].requester = SyncRequesterMachine(
                configuration: options.syncConfiguration, targets: machine.services.syncTargetNames,
                leader: requirement.leader, candidates: requirement.providers.map(\.entity),
                members: machine.monmap.members.filter { $0.name != machine.name },
                session: random.next(), floor: floor, logger: logger)
            nodes[rank].requester?.mutations = options.syncMutations
            note("\(nodes[rank].name) starts a store sync (\(requirement))")
            stepRequester(rank, .begin)
        case let .toSyncRequester(message, sender):
            stepRequester(rank, .message(message, from: sender))
        }
    }

    /// Feeds `input` to monitor `rank`'s sync requester (if one runs) and executes its actions,
    /// possibly crashing the monitor part-way, as ``step(_:_:)`` does.
    private func stepRequester(_ rank: Int, _ input: SyncRequesterInput) {
        guard var requester = nodes[rank].requester else { return }
        var actions = requester.step(input, now: localTime(of: rank))[...]
        nodes[rank].requester = requester
        let crashAfter = faultsOn && random.chance(options.midStepCrashRate) && !actions.isEmpty
            ? Int.random(in: 0..<actions.count, using: &random) : nil
        var index = 0
        while let action = actions.popFirst() {
            if index == crashAfter {
                note("\(nodes[rank].name) crashes after \(index) sync actions")
                return crash(rank)
            }
            index += 1
            do throws(StoreError) {
                try executeSync(action, on: rank)
            } catch {
                guard var requester = nodes[rank].requester else { return }
                actions = requester.step(.storeFailed(error), now: localTime(of: rank))[...]
                nodes[rank].requester = requester
            }
        }
    }

    private func executeSync(_ action: SyncRequesterAction, on rank: Int) throws(StoreError) {
        let store = nodes[rank].store
        switch action {
        case let .send(message, destination):
            send(message, from: rank, to: destination)
        case let .arm(timer, deadline, generation):
            schedule(at: globalTime(of: rank, local: deadline),
                     .syncTimer(node: rank, timer, generation: generation, incarnation: nodes[rank].incarnation))
        case .cancel:
            break
        case .beginStaging, .stage, .abandonStaging:
            _ = try action.perform(on: store)
        case .commitStaging:
            _ = try action.perform(on: store)
            checkSyncedCopy(on: rank)
        case let .finished(result):
            nodes[rank].requester = nil
            switch result {
            case .success:
                syncsCompleted += 1
                note("\(nodes[rank].name) sync finished")
                step(rank, .syncFinished)
            case let .failure(failure):
                syncsFailed += 1
                note("\(nodes[rank].name) sync failed: \(failure)")
                schedule(after: .seconds(2), .syncDone(rank: rank, incarnation: nodes[rank].incarnation))
            }
        }
    }

    /// The copy just swapped in on `rank` must be exactly the committed state of the version it is
    /// labelled with: its service data equals the ledger's replay of versions 1 … that version.
    private func checkSyncedCopy(on rank: Int) {
        let store = nodes[rank].store
        guard let version = try? store.getUInt64(PaxosLog.prefix, PaxosLog.lastCommittedKey),
              let targets = nodes[rank].machine?.services.syncTargetNames else { return }
        let data = targets.filter { $0 != PaxosLog.prefix }
        if version < referenceVersion {
            reference = newStore()
            referenceVersion = 0
        }
        do {
            while referenceVersion < version {
                guard let bytes = ledger.values[referenceVersion + 1] else {
                    return violations.append("sync: mon.\(nodes[rank].name) swapped in v\(version), but v\(referenceVersion + 1) was never committed")
                }
                try reference.apply(StoreTransaction(decoding: bytes))
                referenceVersion += 1
            }
            let copied = try store.digest(of: data)
            let expected = try reference.digest(of: data)
            if copied != expected {
                violations.append("sync: mon.\(nodes[rank].name) swapped in a copy labelled v\(version) whose data is not v\(version)'s (digest \(copied), expected \(expected))")
            }
        } catch {
            violations.append("sync: cannot check mon.\(nodes[rank].name)'s synced copy: \(error)")
        }
        note("\(nodes[rank].name) swapped in a copy of v\(version)")
    }

    // MARK: Network

    /// `message` as its receiver decodes it: through the codec's bytes when the options say so.
    func wire(_ message: any WireMessage) -> (any WireMessage)? {
        guard options.encodeMessages else { return message }
        do { return try codec.decode(codec.encode(any: message)) } catch {
            violations.append("wire: \(message) does not survive its own codec: \(error)")
            return nil
        }
    }

    private func send(_ message: any WireMessage, from rank: Int, to destination: TransportAddress) {
        if nodes[rank].removedInLife, message is MMonPaxos || message is MMonElection {
            violations.append("membership: mon.\(nodes[rank].name) sent \(message) after it adopted its removal (t=\(Self.format(now)))")
        }
        guard let message = wire(message) else { return }
        if let target = addressSlots[destination] {
            if cut.contains([rank, target]) { return }
            deliver(.deliver(message, from: nodes[rank].address, to: target, life: nodes[target].lives))
        } else if let index = clients.firstIndex(where: { $0.address == destination }), let reply = message as? MMonCommandReply {
            deliver(.clientReply(client: index, reply))
        }
    }

    /// Delivers with the network's delay, loss, duplication and reordering.
    ///
    /// A link is FIFO, as a TCP connection is, except for the messages a fault delays past
    /// the ones sent after them (``SimulationOptions/longDelayRate``): the protocol must stay
    /// safe under reordering, but it may rely on order for progress once the faults heal.
    func deliver(_ kind: SimulatedEvent.Kind) {
        if faultsOn && random.chance(options.dropRate) { return }
        let link: Link
        switch kind {
        case let .deliver(_, sender, rank, _): link = Link(from: sender.description, to: rank)
        case let .clientReply(client, reply): link = Link(from: "mon\(reply.status.rank)", to: -1 - client)
        default: return schedule(at: now, kind)
        }
        let copies = faultsOn && random.chance(options.duplicateRate) ? 2 : 1
        let extra = options.slowLinks.first { "\(nodes[$0.from].address)" == link.from && $0.to == link.to }
            .map { UInt64($0.milliseconds) * 1_000_000 } ?? 0
        for _ in 0..<copies {
            let delay = UInt64.random(in: 1_000...UInt64(options.maximumDelayMilliseconds) * 1_000, using: &random) * 1_000 + extra
            if faultsOn && random.chance(options.longDelayRate) {
                // Overtaken by what is sent after it; the link's order is kept for the rest.
                schedule(at: now + delay + UInt64.random(in: 0...3_000_000_000, using: &random), kind)
            } else {
                let time = max(now + delay, (linkClear[link] ?? 0) + 1)
                linkClear[link] = time
                schedule(at: time, kind)
            }
        }
    }

    private func injectFaults() {
        guard faultsOn else { return }
        if random.chance(options.crashRate) { crash(Int.random(in: nodes.indices, using: &random)) }
        if random.chance(options.partitionRate) {
            let side: Set<Int>
            if random.chance(0.5), let leader = nodes.firstIndex(where: { $0.machine?.state == .leader }) {
                // The classic: the leader alone, cut off from its quorum while clients still reach it.
                side = [leader]
            } else {
                let ranks = nodes.indices.shuffled(using: &random)
                side = Set(ranks.prefix(Int.random(in: 1..<ranks.count, using: &random)))
            }
            let oneWay = random.chance(0.3)
            for a in side { for b in nodes.indices where !side.contains(b) {
                cut.insert([a, b])
                if !oneWay { cut.insert([b, a]) }
            } }
            note("PARTITION \(side.sorted()) | rest\(oneWay ? " (one way)" : "")")
        }
        if !cut.isEmpty && random.chance(options.healRate) {
            cut.removeAll()
            note("HEAL")
        }
    }

    private func healEverything() {
        faultsOn = false
        cut.removeAll()
        note("HEAL EVERYTHING")
        for rank in nodes.indices where nodes[rank].machine == nil && nodes[rank].intended { start(rank) }
    }

    // MARK: Clocks

    /// Monitor `rank`'s clock at the current global time.
    func localTime(of rank: Int) -> Duration {
        .nanoseconds(Int64(nodes[rank].offset) + Int64(Double(now) * nodes[rank].rate))
    }

    /// The global time at which monitor `rank`'s clock reads `local`.
    func globalTime(of rank: Int, local: Duration) -> UInt64 {
        let nanos = Double(local.components.seconds) * 1e9 + Double(local.components.attoseconds) / 1e9 - Double(nodes[rank].offset)
        return max(now, UInt64(max(0, (nanos / nodes[rank].rate).rounded(.up))))
    }

    func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000)
    }

    static func format(_ time: UInt64) -> String {
        let ms = time / 1_000_000
        return "\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())s"
    }

    func note(_ line: @autoclosure () -> String) {
        guard options.recordTrace else { return }
        trace.append("\(Self.format(now)) \(line())")
    }

    private func describe(_ m: MonitorMachine) -> String {
        "\(m.state) e\(m.electionEpoch) q\(m.quorum) lc\(m.lastCommitted) \(m.phaseDescription)"
    }

    func describeNodes() -> String {
        let nodesText = nodes.map { node in
            guard let m = node.machine else { return "\(node.name): \(node.intended ? "down" : "not running")" }
            let map = options.membershipChanges ? " monmap e\(m.monmap.epoch)" : ""
            return "\(node.name): \(m.state) e\(m.electionEpoch) q\(m.quorum) lc\(m.lastCommitted) \(m.phaseDescription)\(map)"
        }.joined(separator: ", ")
        guard options.membershipChanges else { return nodesText }
        return nodesText + "; newest committed monmap \(latestMonmap)"
    }

    // MARK: Checks

    private func checkConvergedState() {
        let members = memberSlots(of: latestMonmap).map { nodes[$0] }
        guard let targets = members.first?.machine?.services.syncTargetNames else { return }
        let digests = members.map { try? $0.store.digest(of: targets) }
        if Set(digests.map { $0.map { "\($0)" } ?? "unreadable" }).count != 1 {
            violations.append("agreement: monitors at the same version hold different state: \(zip(members.map(\.name), digests.map { $0.map { "\($0)" } ?? "?" }).map { "\($0)=\($1)" })")
        }
    }

    /// The rolling-upgrade scenario's checks after a step of monitor `rank`: its store read nothing
    /// it could not decode, and features became required only with every member upgraded.
    private func checkUpgrade(of rank: Int, _ machine: MonitorMachine, failuresBefore: Int, requiredBefore: MonitorFeatures) {
        if machine.statistics.storeFailures > failuresBefore {
            violations.append("upgrade: mon.\(nodes[rank].name) (\(nodes[rank].upgraded ? "current" : "previous") build) failed to read or write its store (t=\(Self.format(now)))")
        }
        if machine.requiredFeatures != requiredBefore {
            let old = memberSlots(of: machine.monmap).filter { !nodes[$0].upgraded }.map { nodes[$0].name }
            if !old.isEmpty {
                violations.append("upgrade: mon.\(nodes[rank].name) requires \(machine.requiredFeatures) while \(old) run the previous build (t=\(Self.format(now)))")
            }
            note("\(nodes[rank].name) requires features \(machine.requiredFeatures)")
        }
    }

    private func checkDurability() {
        let final = memberSlots(of: latestMonmap).compactMap { nodes[$0].machine?.lastCommitted }.min() ?? 0
        for record in history where record.isWrite && record.outcome == .ok && record.version > 0 {
            let value: [UInt8]? = if case let .put(bytes) = record.operation.kind { bytes } else { nil }
            if !ledger.contains(version: record.version, key: record.operation.key, value: value) {
                violations.append("durability: acknowledged write #\(record.operation.id) (\(record.operation.key)) is not in the value committed at v\(record.version)")
            }
            if converged && record.version > final {
                violations.append("durability: acknowledged write #\(record.operation.id) at v\(record.version) is beyond the converged last_committed \(final)")
            }
        }
    }
}

/// One monitor of the simulation: its store survives crashes, its machine does not.
///
/// In the membership scenario a node is a slot of the pool: a monitor removed and later added
/// again under its name starts a new *life*, with an empty store, at a new address.
struct SimulatedNode {
    let rank: Int
    let name: String
    var address: TransportAddress
    var store = InMemoryStore()
    /// Lives started: a message sent to an earlier life is not delivered to this one.
    var lives = 0
    /// The monmap this life was started with: the initial map, or the committed map that added it.
    var configuredMap: MonMap?
    /// Whether this monitor should run: restarted after a crash and at the heal. False until a
    /// pool monitor is added, and once the operator stopped a removed one.
    var intended = true
    /// This life adopted its removal (it must take no further part).
    var removedInLife = false
    /// The operator has scheduled this life's stop (it was removed).
    var stopScheduled = false
    var machine: MonitorMachine?
    /// The store sync this monitor runs as requester, while it runs.
    var requester: SyncRequesterMachine?
    /// Bumped at every crash and start, so the timers and syncs of an earlier life are ignored.
    var incarnation = 0
    /// The rolling-upgrade scenario: whether this monitor runs the current build (after its first crash).
    var upgraded = false
    /// The clock's rate against the global clock, and its offset (nanoseconds).
    let rate: Double
    let offset: UInt64

    init(rank: Int, name: String, address: TransportAddress, rate: Double, offset: UInt64) {
        self.rank = rank
        self.name = name
        self.address = address
        self.rate = rate
        self.offset = offset
    }
}
