import MonSyncCore
import MonSyncMessages
@_spi(Testing) import MonSyncMonitor
import MonSyncStore

/// A `mon add` or `mon remove` the operator sent, and what became of it (for the trace and reports).
struct MembershipOperation {
    var command: String
    var invoked: UInt64
    var outcome = "pending"
}

/// The membership scenario (``SimulationOptions/membershipChanges``): an operator — a client of its
/// own, with the same time-outs and retries as the others — adds monitors of the pool and removes
/// members at random moments of the fault phase; it starts a monitor (empty store) once a committed
/// monmap names it and stops a removed one eventually. And the membership checker.
extension Simulation {
    // MARK: The maps

    /// The newest monmap committed through Paxos, or the initial map.
    var latestMonmap: MonMap { ledger.latestMonmap?.map ?? monmap }

    /// The pool indices of `map`'s members, in rank order.
    func memberSlots(of map: MonMap) -> [Int] {
        map.members.compactMap { member in nodes.firstIndex { $0.name == member.name } }
    }

    /// Whether every running monitor that `map` does not name knows it was removed — each that can
    /// find out: one that some running monitor with a newer map answers, at an address of the map it
    /// follows. A removed monitor that was away while every monitor of its map moved (re-added at a
    /// new address) or stopped has no one to ask; it is isolated, and only safety is required of it.
    func outsidersRemoved(_ map: MonMap) -> Bool {
        guard options.membershipChanges else { return true }
        return nodes.allSatisfy { node in
            guard let machine = node.machine, map.member(named: node.name) == nil else { return true }
            return machine.state == .removed || !canLearnNewerMap(machine)
        }
    }

    /// The running monitors `map` does not name that do not know they were removed and cannot find
    /// out: those ``outsidersRemoved(_:)`` excuses (0 outside the membership scenario).
    func isolatedOutsiders(_ map: MonMap) -> Int {
        guard options.membershipChanges else { return 0 }
        return nodes.count { node in
            guard let machine = node.machine, map.member(named: node.name) == nil else { return false }
            return machine.state != .removed && !canLearnNewerMap(machine)
        }
    }

    /// Whether a running monitor at an address of `machine`'s map, under the name the map gives it,
    /// follows a newer map (and so answers `machine`'s probes with it).
    private func canLearnNewerMap(_ machine: MonitorMachine) -> Bool {
        machine.monmap.members.contains { member in
            guard member.name != machine.name, let address = try? TransportAddress(member.address),
                  let slot = addressSlots[address], nodes[slot].name == member.name,
                  let other = nodes[slot].machine else { return false }
            return other.monmap.epoch > machine.monmap.epoch
        }
    }

    /// The pool index listening at `leader`'s address (the rank in a reply's map is not one).
    func slot(of leader: MonitorEntity) -> Int? {
        guard options.membershipChanges else { return Int(leader.rank) }
        return (try? TransportAddress(leader.address)).flatMap { addressSlots[$0] }
    }

    /// A monitor for a client to ask: any of all of them, or in the membership scenario any that should run.
    func randomTarget() -> Int {
        guard options.membershipChanges else { return Int.random(in: nodes.indices, using: &random) }
        let running = nodes.indices.filter { nodes[$0].intended }
        return running.randomElement(using: &random) ?? Int.random(in: nodes.indices, using: &random)
    }

    // MARK: The operator

    /// Starts the operator's next change, chosen from the newest committed map: an add of a pool
    /// monitor not running (with the address of its next life), or a removal of a member (the
    /// leader included). Sizes stay within 1…pool: the pool bounds adds; the machine refuses to
    /// remove the last member. The changes lean toward three members, so that a majority is up
    /// often enough under the crashes.
    func startMembershipChange(_ index: Int) {
        let latest = latestMonmap
        let free = nodes.indices.filter { latest.member(named: nodes[$0].name) == nil && !nodes[$0].intended }
        let addChance = latest.count <= 1 ? 1.0 : latest.count < 3 ? 0.75 : latest.count == 3 ? 0.5 : 0.25
        let add = !free.isEmpty && random.chance(addChance)
        let tid = clients[index].nextTid
        clients[index].nextTid += 1
        let command: MMonCommand
        if add {
            let slot = free.randomElement(using: &random)!
            let address = nodes[slot].lives == 0 ? "loopback://\(nodes[slot].name)" : "loopback://\(nodes[slot].name)-\(nodes[slot].lives)"
            command = MMonCommand(op: .monAdd, clientID: clients[index].clientID, tid: tid, key: nodes[slot].name, value: Array(address.utf8))
        } else {
            let name = latest.members.randomElement(using: &random)!.name
            command = MMonCommand(op: .monRemove, clientID: clients[index].clientID, tid: tid, key: name)
        }
        membershipOperations.append(MembershipOperation(command: "\(command.op) \(command.key)", invoked: now))
        note("operator: \(command.op) \(command.key) (monmap e\(latest.epoch) \(latest.members.map(\.name)))")
        clients[index].pending = SimulatedClient.Pending(operation: membershipOperations.count - 1, command: command,
                                                         target: clients[index].leaderHint ?? randomTarget(),
                                                         deadline: now + nanoseconds(options.operationTimeout))
        transmit(index)
    }

    /// After a persist: when a newer monmap was committed, the operator starts the monitors it
    /// adds (soon) and stops the ones it removes (soon, much later, or — one in seven — never, to
    /// check a removed monitor left running stays out).
    func noticeCommittedMonmap() {
        let latest = latestMonmap
        guard latest.epoch > operatorEpoch else { return }
        operatorEpoch = latest.epoch
        note("monmap e\(latest.epoch) committed: \(latest.members.map(\.name))")
        for slot in nodes.indices {
            if latest.member(named: nodes[slot].name) != nil {
                schedule(after: .milliseconds(Int64.random(in: 0...5_000, using: &random)), .operatorStart(slot: slot))
            } else if nodes[slot].intended, !nodes[slot].stopScheduled {
                nodes[slot].stopScheduled = true
                let roll = Int.random(in: 0..<7, using: &random)
                guard roll > 0 else { continue }
                let delay: ClosedRange<Int64> = roll <= 4 ? 500...5_000 : 20_000...90_000
                schedule(after: .milliseconds(Int64.random(in: delay, using: &random)), .operatorStop(slot: slot, life: nodes[slot].lives))
            }
        }
    }

    /// Starts monitor `slot` if the newest committed map names it and its current life is not that
    /// member: a new life, with an empty store, at the address the map gives it, configured with
    /// that map. (A name added again while its removed life still runs — a resent `mon add` — is
    /// recreated, as an operator must.)
    func operatorStart(_ slot: Int) {
        let latest = latestMonmap
        guard let member = latest.member(named: nodes[slot].name), let address = try? TransportAddress(member.address) else { return }
        if nodes[slot].intended && !nodes[slot].removedInLife && nodes[slot].address == address { return }
        if nodes[slot].machine != nil { note("\(nodes[slot].name) is stopped to be recreated") }
        nodes[slot].machine = nil
        nodes[slot].requester = nil
        nodes[slot].incarnation += 1
        if addressSlots[nodes[slot].address] == slot { addressSlots[nodes[slot].address] = nil }
        nodes[slot].address = address
        addressSlots[address] = slot
        nodes[slot].store = newStore()
        nodes[slot].lives += 1
        nodes[slot].configuredMap = latest
        nodes[slot].intended = true
        nodes[slot].removedInLife = false
        nodes[slot].stopScheduled = false
        note("operator starts \(nodes[slot].name) at \(address) (life \(nodes[slot].lives), monmap e\(latest.epoch), empty store)")
        start(slot)
    }

    /// Stops monitor `slot` for good, if it is still life `life` and still not a member — once every
    /// member of the newest map is up and follows it (else it looks again in 2 s). A careful
    /// operator waits so: until then the removed monitor may be the only one that knows its removal
    /// committed (a leader that removed itself from two members, its COMMIT lost), and the rest
    /// learn the map from its probe replies.
    func operatorStop(_ slot: Int, life: Int) {
        let latest = latestMonmap
        guard nodes[slot].lives == life, nodes[slot].intended, latest.member(named: nodes[slot].name) == nil else { return }
        let followed = memberSlots(of: latest).allSatisfy { (nodes[$0].machine?.monmap.epoch ?? 0) >= latest.epoch }
        guard followed else { return schedule(after: .seconds(2), .operatorStop(slot: slot, life: life)) }
        note("operator stops \(nodes[slot].name) (removed)")
        nodes[slot].machine = nil
        nodes[slot].requester = nil
        nodes[slot].incarnation += 1
        nodes[slot].intended = false
    }

    // MARK: The checker

    /// The membership checker, run on the whole history (``SimulationOptions/membershipChanges``
    /// or not: without changes it checks that every commit had a majority of the initial map).
    ///
    /// - Every version a leader committed was accepted by a majority of the monmap *in force* at
    ///   that version — the map committed at the highest version below it, or the initial map — and
    ///   the leader decided it under that very map (epoch): no quorum of an older or newer map
    ///   decides a version. The value it decided is the one the ledger holds for that version.
    /// - The committed maps follow each other epoch by epoch, each one member more or less than the
    ///   one before (one change at a time).
    /// - (During the run) a monitor that adopted its removal sends no Paxos or election message.
    /// - (Liveness, after the heal) every member of the newest map follows it in one quorum, and a
    ///   removed monitor left running knows it was removed: part of the rejoin and settle phases.
    func checkMembership() {
        let maps = ledger.monmaps.sorted { $0.key < $1.key }
        var previous = monmap
        for (version, map) in maps {
            let before = Set(previous.members.map(\.name)), after = Set(map.members.map(\.name))
            if map.epoch != previous.epoch + 1 || before.symmetricDifference(after).count != 1 {
                violations.append("membership: v\(version) commits monmap e\(map.epoch) \(map.members.map(\.name)) after e\(previous.epoch) \(previous.members.map(\.name)): not the next epoch with one change")
            }
            previous = map
        }
        // The versions the ledger holds without a gap from v1: the map in force is known below them.
        var contiguous: UInt64 = 0
        while ledger.values[contiguous + 1] != nil { contiguous += 1 }
        var decided: Set<UInt64> = []
        for (leader, record) in commitRecords {
            guard record.version <= contiguous + 1 else { continue }
            let inForce = maps.last { $0.key < record.version }
            let map = inForce?.value ?? monmap
            let source = inForce.map { "committed at v\($0.key)" } ?? "the initial map"
            let accepted = Set(record.acceptedBy)
            let isDecision = decided.insert(record.version).inserted
            if !isDecision, let own = ledger.monmaps[record.version], record.monmapEpoch == own.epoch,
               accepted.intersection(own.members.map(\.name)).count >= own.majority,
               ledger.values[record.version] == record.value {
                // A change already decided by the old map, committed again by a leader of the map it
                // commits (which learned that map from a peer before its log held the change, and
                // found the value uncommitted in recovery): the same value, and the two maps differ
                // by one member, so their majorities intersect. Allowed; see the DocC article.
                note("v\(record.version) (monmap e\(own.epoch)) committed again by mon.\(leader) under the map it commits")
                continue
            }
            if record.monmapEpoch != map.epoch {
                violations.append("membership: mon.\(leader) committed v\(record.version) under monmap e\(record.monmapEpoch) (election e\(record.electionEpoch)), but e\(map.epoch) (\(source)) is in force at v\(record.version)")
            }
            if accepted.intersection(map.members.map(\.name)).count < map.majority {
                violations.append("membership: mon.\(leader) committed v\(record.version) with accepts from \(record.acceptedBy.sorted()), not a majority of monmap e\(map.epoch) \(map.members.map(\.name)) (\(source))")
            }
            if let value = ledger.values[record.version], value != record.value {
                violations.append("agreement: mon.\(leader) decided v\(record.version) (election e\(record.electionEpoch)) with a value other than the one committed there")
            }
        }
    }
}
