import MonSyncCore
import MonSyncMessages
import MonSyncStore

/// The client command path (Ceph's `handle_command` and `forward_request`).
///
/// Status is answered by any monitor. Reads are answered by the leader under its lease
/// (``LeaseState``); a peon forwards them like writes.
/// Writes are queued on the leader and proposed through Paxos (batched while
/// a round is in flight); a peon forwards them to the leader once; a monitor
/// outside a quorum refuses them with NO_QUORUM, so a write during an
/// election is never half-done.
extension MonitorMachine {
    mutating func handleCommand(_ command: MMonCommand, from sender: TransportAddress) {
        let forwarded = command.flags.contains(.forwarded)
        let replyTo: TransportAddress
        if forwarded {
            // Only a monmap member may forward, and it names a valid address (the decoder checked).
            guard monmap.rank(of: sender) != nil, let client = try? TransportAddress(command.replyTo) else {
                statistics.impostorMessages += 1
                return
            }
            replyTo = client
        } else {
            replyTo = sender
        }
        // A request no monitor would serve (no key, a key or value over the limits) is answered at
        // once, by whichever monitor gets it: dropped, it would look like an outage to the client.
        if let (result, message) = command.requestError {
            statistics.commandsRefused += 1
            return reply(to: command, at: replyTo, result: result, message: message)
        }
        switch command.op {
        case .status:
            actions.append(.answerStatus(reply(to: command, result: .ok), to: replyTo))
        case .get, .list:
            if isReadable {
                answerRead(command, at: replyTo)
            } else if state == .leader {
                reply(to: command, at: replyTo, result: .retry,
                      message: "mon.\(name) is the leader but its read lease is not established yet (recovering, or waiting out the previous leader's lease); retry")
            } else {
                forwardOrRefuse(command, at: replyTo, forwarded: forwarded)
            }
        case .put, .delete:
            if state == .leader {
                queueWrite(PendingWrite(command: command, replyTo: replyTo))
            } else {
                forwardOrRefuse(command, at: replyTo, forwarded: forwarded)
            }
        case .monAdd, .monRemove:
            if state == .leader {
                queueMembershipChange(PendingWrite(command: command, replyTo: replyTo))
            } else {
                forwardOrRefuse(command, at: replyTo, forwarded: forwarded)
            }
        }
    }

    private mutating func answerRead(_ command: MMonCommand, at client: TransportAddress) {
        do {
            switch command.op {
            case .get:
                if let value = try keyValue.get(command.key, in: store) {
                    reply(to: command, at: client, result: .ok, value: value)
                } else {
                    reply(to: command, at: client, result: .notFound, message: "no key \(command.key)")
                }
            case .list:
                // A page is bounded so a reply always fits in a frame (keys are at most 1 KiB each);
                // `more` tells the client to ask again after the page's last key.
                let pageSize = KeyValueService.maximumListedKeys
                let limit = command.limit == 0 ? pageSize : min(Int(command.limit), pageSize)
                let page = try keyValue.list(prefix: command.key, after: command.after, limit: limit, in: store)
                reply(to: command, at: client, result: .ok,
                      message: page.more ? "truncated after \(page.keys.count) keys; more follow after the last one" : "",
                      keys: page.keys, more: page.more)
            case .put, .delete, .status, .monAdd, .monRemove:
                reply(to: command, at: client, result: .invalid, message: "\(command.op) is not a read")
            }
        } catch {
            noteStoreFailure(error, during: "answering \(command.op)")
            reply(to: command, at: client, result: .failed, message: "store failure: \(error)")
        }
    }

    /// A peon passes the command to its leader once; anyone else says why it cannot serve it.
    private mutating func forwardOrRefuse(_ command: MMonCommand, at client: TransportAddress, forwarded: Bool) {
        if state == .peon, let leader, !forwarded, configuration.forwardsCommands {
            var copy = command
            copy.flags.insert(.forwarded)
            copy.replyTo = client.description
            statistics.commandsForwarded += 1
            send(copy, toRank: leader)
        } else if forwarded && state.isInQuorum {
            reply(to: command, at: client, result: .notLeader, message: "mon.\(name) is not the leader; a command is forwarded only once")
        } else if state == .removed {
            reply(to: command, at: client, result: .noQuorum,
                  message: "mon.\(name) was removed from the monmap (e\(monmap.epoch)) and takes no part; ask another monitor")
        } else if state == .peon, leader != nil {
            reply(to: command, at: client, result: .notLeader, message: "mon.\(name) is not the leader; send writes to the leader")
        } else {
            reply(to: command, at: client, result: .noQuorum,
                  message: "mon.\(name) is \(state) and not in a quorum; nothing was proposed, retry later")
        }
    }

    private mutating func queueWrite(_ write: PendingWrite) {
        let command = write.command
        do {
            switch try keyValue.state(ofTid: command.tid, clientID: command.clientID, in: store) {
            case .new:
                break
            case .applied where isWritable:
                // Resent after a leader change, and already committed: do not apply it twice.
                return reply(to: command, at: write.replyTo, result: .ok, message: "already applied")
            case .applied:
                // Not yet: the old leader's lease may still run, and it may not have seen the commit.
                // Queued, the write is answered as applied when the leader proposes.
                break
            case .tooOld:
                return reply(to: command, at: write.replyTo, result: .invalid,
                             message: "tid \(command.tid) is older than the \(KeyValueService.dedupWindow) remembered for this client")
            }
        } catch {
            noteStoreFailure(error, during: "checking a client's applied tids")
            return reply(to: command, at: write.replyTo, result: .failed, message: "store failure: \(error)")
        }
        // A resend of a write already queued or out for acceptance rides on that copy.
        let isSame = { (other: PendingWrite) in other.command.clientID == command.clientID && other.command.tid == command.tid }
        if let index = pendingWrites.firstIndex(where: isSame) {
            pendingWrites[index].extraReplies.append(write.replyTo)
            return
        }
        if let index = paxos.proposal?.writes.firstIndex(where: isSame) {
            paxos.proposal!.writes[index].extraReplies.append(write.replyTo)
            return
        }
        guard pendingWrites.count < configuration.maxPendingWrites else {
            return reply(to: command, at: write.replyTo, result: .retry, message: "the leader's write queue is full; resend later")
        }
        pendingWrites.append(write)
        if configuration.proposeInterval > .zero && paxos.proposal == nil && !isArmed(.propose) {
            arm(.propose, after: configuration.proposeInterval)
        } else if configuration.proposeInterval == .zero {
            proposeNextIfIdle()
        }
    }

    /// Answers a write that was waiting on Paxos.
    mutating func replyToWrite(_ write: PendingWrite, result: CommandResult, message: String = "", version: UInt64 = 0) {
        for client in [write.replyTo] + write.extraReplies {
            reply(to: write.command, at: client, result: result, message: message, version: version)
        }
    }

    private mutating func reply<C: Collection<UInt8>>(to command: MMonCommand, at client: TransportAddress, result: CommandResult,
                                                      message: String = "", value: C = [UInt8](), keys: [String] = [],
                                                      version: UInt64 = 0, more: Bool = false) {
        send(reply(to: command, result: result, message: message, value: value, keys: keys, version: version, more: more), to: client)
    }

    private func reply<C: Collection<UInt8>>(to command: MMonCommand, result: CommandResult, message: String = "",
                                             value: C = [UInt8](), keys: [String] = [], version: UInt64 = 0,
                                             more: Bool = false) -> MMonCommandReply {
        let leaderEntity = state.isInQuorum ? leader.flatMap { monmap.member(rank: $0) } : nil
        // STATUS carries the monmap, so a client given bare URLs names every monitor, rank and quorum member
        // as the cluster does, including the members that did not answer it.
        let isStatus = command.op == .status
        return MMonCommandReply(op: command.op, tid: command.tid, result: result, message: message, value: value,
                                keys: keys, leader: leaderEntity, version: version, status: status, more: more,
                                monmapEpoch: isStatus ? monmap.epoch : 0, monmap: isStatus ? monmap.members : [])
    }
}

/// Proposals from services other than the key-value one (Ceph's `PaxosService::propose_pending`).
extension MonitorMachine {
    /// Queues a service's `transaction` for the next proposal, or answers at once why it cannot be.
    ///
    /// Only the leader proposes; every operation must touch a prefix a registered service owns
    /// (never the Paxos log). Changes queued together are committed in one version, as client
    /// writes are.
    mutating func queueServiceProposal(id: UInt64, _ transaction: StoreTransaction) {
        guard state == .leader else {
            return actions.append(.finishProposal(id: id, .failure(.notLeader(leader: leader.flatMap { monmap.member(rank: $0) }))))
        }
        guard !transaction.isEmpty else { return actions.append(.finishProposal(id: id, .failure(.empty))) }
        for operation in transaction.operations {
            let owner = services.owner(of: operation.prefix)
            if owner == nil || operation.prefix == PaxosLog.prefix {
                return actions.append(.finishProposal(id: id, .failure(.unownedPrefix(operation.prefix))))
            }
        }
        pendingServiceProposals.append(ServiceProposal(id: id, transaction: transaction))
        if configuration.proposeInterval == .zero { proposeNextIfIdle() }
        else if paxos.proposal == nil && !isArmed(.propose) { arm(.propose, after: configuration.proposeInterval) }
    }

    /// Resolves the service proposals `ids` with `result`.
    mutating func finishServiceProposals(_ ids: [UInt64], with result: Result<UInt64, ProposalError>) {
        for id in ids { actions.append(.finishProposal(id: id, result)) }
    }
}
