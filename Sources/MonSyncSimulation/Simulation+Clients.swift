import MonSyncCore
import MonSyncMessages
import MonSyncMonitor

/// The client workload: puts, deletes and gets on a few keys, each resent with its tid until answered.
extension Simulation {
    func clientTick(_ index: Int, attempt: Int) {
        if let pending = clients[index].pending {
            if pending.attempt == attempt { resend(index) }
        } else if clients[index].isOperator {
            // Membership changes only while the faults run: after the heal, the cluster must settle.
            if faultsOn { startMembershipChange(index) }
        } else if clientsOn {
            startOperation(index)
        }
    }

    private func startOperation(_ index: Int) {
        var client = clients[index]
        let key = "k\(Int.random(in: 0..<options.keys, using: &random))"
        let tid = client.nextTid
        client.nextTid += 1
        let roll = Int.random(in: 0..<100, using: &random)
        let kind: KVOperation.Kind
        let command: MMonCommand
        if roll < 45 {
            client.nextValue += 1
            let value = Array("c\(index)v\(client.nextValue)".utf8)
            kind = .put(value)
            command = MMonCommand(op: .put, clientID: client.clientID, tid: tid, key: key, value: value)
        } else if roll < 55 {
            kind = .delete
            command = MMonCommand(op: .delete, clientID: client.clientID, tid: tid, key: key)
        } else {
            kind = .get
            command = MMonCommand(op: .get, clientID: client.clientID, tid: tid, key: key)
        }
        let id = history.count
        history.append(KVOperationRecord(operation: KVOperation(id: id, client: index, key: key, kind: kind, invoked: now,
                                                                completed: nil, outcome: .unknown)))
        client.pending = SimulatedClient.Pending(operation: id, command: command,
                                                 target: client.leaderHint ?? randomTarget(),
                                                 deadline: now + nanoseconds(options.operationTimeout))
        clients[index] = client
        transmit(index)
    }

    /// Sends the pending command to its target and arms the resend tick.
    func transmit(_ index: Int) {
        guard var pending = clients[index].pending else { return }
        pending.attempt += 1
        clients[index].pending = pending
        note("\(clients[index].isOperator ? "operator" : "client\(index)") → \(nodes[pending.target].name): \(pending.command.op) \(pending.command.key) tid \(pending.command.tid)")
        if let command = wire(pending.command) {
            deliver(.deliver(command, from: clients[index].address, to: pending.target, life: nodes[pending.target].lives))
        }
        schedule(after: .milliseconds(Int64.random(in: 800...1_500, using: &random)), .clientTick(client: index, attempt: pending.attempt))
    }

    /// No answer in time: resend (to another monitor), or give up at the deadline.
    func resend(_ index: Int) {
        guard var pending = clients[index].pending else { return }
        if now >= pending.deadline {
            note("client\(index) gives up on #\(pending.operation)")
            clients[index].pending = nil
            clients[index].leaderHint = nil
            if clients[index].isOperator {
                membershipOperations[pending.operation].outcome = "unknown (gave up)"
                schedule(after: .milliseconds(Int64.random(in: 3_000...15_000, using: &random)), .clientTick(client: index, attempt: 0))
                return
            }
            schedule(after: .milliseconds(Int64.random(in: 10...200, using: &random)), .clientTick(client: index, attempt: 0))
            return
        }
        pending.target = options.membershipChanges ? randomTarget()
            : (pending.target + 1 + Int.random(in: 0..<max(1, nodes.count - 1), using: &random)) % nodes.count
        clients[index].pending = pending
        transmit(index)
    }

    func clientReceived(_ index: Int, _ reply: MMonCommandReply) {
        guard let pending = clients[index].pending, reply.tid == pending.command.tid, reply.op == pending.command.op else { return }
        note("\(clients[index].isOperator ? "operator" : "client\(index)") ← \(reply.result) for \(reply.op) \(pending.command.key) tid \(reply.tid)")
        if clients[index].isOperator, ![.notLeader, .noQuorum, .retry].contains(reply.result) {
            // Done: committed (or nothing to change), or refused.
            if let leader = reply.leader { clients[index].leaderHint = slot(of: leader) }
            membershipOperations[pending.operation].outcome = "\(reply.result) v\(reply.version)"
            clients[index].pending = nil
            schedule(after: .milliseconds(Int64.random(in: 3_000...15_000, using: &random)), .clientTick(client: index, attempt: 0))
            return
        }
        let outcome: KVOperation.Outcome
        switch (reply.op, reply.result) {
        case (.put, .ok), (.delete, .ok): outcome = .ok
        case (.get, .ok): outcome = .value(Array(reply.value))
        case (.get, .notFound): outcome = .value(nil)
        default:
            // Not the leader, no quorum, retry: resend soon, to the leader the reply names.
            if let leader = reply.leader { clients[index].leaderHint = slot(of: leader) }
            if options.membershipChanges {
                // A removed monitor answers NO_QUORUM, naming no leader, for ever: a hint that led
                // to it is stale. And replies that come fast never let the resend tick give up.
                if reply.leader == nil { clients[index].leaderHint = nil }
                if now >= pending.deadline { return resend(index) }
            }
            var next = pending
            next.target = clients[index].leaderHint ?? randomTarget()
            next.attempt += 1  // the resend tick of the attempt that was answered is stale now
            clients[index].pending = next
            schedule(after: .milliseconds(Int64.random(in: 50...300, using: &random)), .clientResend(client: index, attempt: next.attempt))
            return
        }
        if let leader = reply.leader { clients[index].leaderHint = slot(of: leader) }
        history[pending.operation].operation.completed = now
        history[pending.operation].operation.outcome = outcome
        history[pending.operation].version = reply.version
        clients[index].pending = nil
        schedule(after: .milliseconds(Int64.random(in: 1...100, using: &random)), .clientTick(client: index, attempt: 0))
    }
}
