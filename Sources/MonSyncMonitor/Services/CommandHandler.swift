import MonSyncCore
import MonSyncStore

/// The client command path (Ceph's `handle_command` and `forward_request`).
///
/// Status is answered by any monitor. Reads are answered by the leader, or by
/// a peon holding a valid lease; otherwise they are forwarded like writes.
/// Writes are queued on the leader and proposed through Paxos (batched while
/// a round is in flight); a peon forwards them to the leader once; a monitor
/// outside a quorum refuses them with NO_QUORUM, so a write during an
/// election is never half-done.
extension Monitor {
    func handleCommand(_ command: MMonCommand, from sender: TransportAddress) {
        guard state != .shutdown else { return }
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
        switch command.op {
        case .status:
            if syncDelegate == nil {
                reply(to: command, at: replyTo, result: .ok)
            } else {
                // The sync section comes from actors of its own: gather it off this actor, then answer.
                Task { [weak self] in
                    guard let self else { return }
                    let status = await statusWithSync()
                    await reply(to: command, at: replyTo, result: .ok, status: status)
                }
            }
        case .get, .list:
            if isReadable {
                answerRead(command, at: replyTo)
            } else if state == .leader {
                reply(to: command, at: replyTo, result: .retry, message: "mon.\(name) is the leader but still recovering; retry")
            } else {
                forwardOrRefuse(command, at: replyTo, forwarded: forwarded)
            }
        case .put, .delete:
            if state == .leader {
                queueWrite(PendingWrite(command: command, replyTo: replyTo))
            } else {
                forwardOrRefuse(command, at: replyTo, forwarded: forwarded)
            }
        }
    }

    private func answerRead(_ command: MMonCommand, at client: TransportAddress) {
        do {
            switch command.op {
            case .get:
                if let value = try keyValue.get(command.key, in: store) {
                    reply(to: command, at: client, result: .ok, value: value)
                } else {
                    reply(to: command, at: client, result: .notFound, message: "no key \(command.key)")
                }
            case .list:
                // Bounded so a reply always fits in a frame (keys are at most 1 KiB each).
                let keys = try keyValue.list(prefix: command.key, in: store)
                let limit = KeyValueService.maximumListedKeys
                reply(to: command, at: client, result: .ok,
                      message: keys.count > limit ? "truncated to the first \(limit) of \(keys.count) keys" : "",
                      keys: Array(keys.prefix(limit)))
            case .put, .delete, .status:
                reply(to: command, at: client, result: .invalid, message: "\(command.op) is not a read")
            }
        } catch {
            noteStoreFailure(error, during: "answering \(command.op)")
            reply(to: command, at: client, result: .failed, message: "store failure: \(error)")
        }
    }

    /// A peon passes the command to its leader once; anyone else says why it cannot serve it.
    private func forwardOrRefuse(_ command: MMonCommand, at client: TransportAddress, forwarded: Bool) {
        if state == .peon, let leader, !forwarded {
            var copy = command
            copy.flags.insert(.forwarded)
            copy.replyTo = client.description
            statistics.commandsForwarded += 1
            send(copy, toRank: leader)
        } else if forwarded && state.isInQuorum {
            reply(to: command, at: client, result: .notLeader, message: "mon.\(name) is not the leader; a command is forwarded only once")
        } else {
            reply(to: command, at: client, result: .noQuorum,
                  message: "mon.\(name) is \(state) and not in a quorum; nothing was proposed, retry later")
        }
    }

    private func queueWrite(_ write: PendingWrite) {
        let command = write.command
        do {
            switch try keyValue.state(ofTid: command.tid, clientID: command.clientID, in: store) {
            case .new:
                break
            case .applied:
                // Resent after a leader change, and already committed: do not apply it twice.
                return reply(to: command, at: write.replyTo, result: .ok, message: "already applied")
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
        if configuration.proposeInterval > .zero && paxos.proposal == nil && !timers.isArmed(.propose) {
            arm(.propose, after: configuration.proposeInterval)
        } else if configuration.proposeInterval == .zero {
            proposeNextIfIdle()
        }
    }

    /// Answers a write that was waiting on Paxos.
    func replyToWrite(_ write: PendingWrite, result: CommandResult, message: String = "", version: UInt64 = 0) {
        for client in [write.replyTo] + write.extraReplies {
            reply(to: write.command, at: client, result: result, message: message, version: version)
        }
    }

    private func reply<C: Collection<UInt8>>(to command: MMonCommand, at client: TransportAddress, result: CommandResult,
                                             message: String = "", value: C = [UInt8](), keys: [String] = [],
                                             version: UInt64 = 0, status: MonitorStatus? = nil) {
        let leaderEntity = state.isInQuorum ? leader.flatMap { monmap.member(rank: $0) } : nil
        send(MMonCommandReply(op: command.op, tid: command.tid, result: result, message: message, value: value,
                              keys: keys, leader: leaderEntity, version: version, status: status ?? self.status), to: client)
    }
}
