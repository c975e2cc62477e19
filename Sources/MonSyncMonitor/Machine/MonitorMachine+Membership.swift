import MonSyncCore
import MonSyncMessages
import MonSyncStore

/// Membership changes (Ceph's `MonmapMonitor`): `mon add` and `mon remove` are Paxos values that
/// commit the next monmap epoch, one change at a time; every monitor adopts a committed map at the
/// end of the step that committed it and bootstraps into an election under it. A monitor that was
/// away learns the newer map from a peer's probe reply. See <doc:ChangingMembership>.
///
/// Why one change at a time is safe: the change at version v is decided by a majority of the old
/// map; every later version is decided under the new one, whose leader is elected only by monitors
/// that adopted it. Two maps that differ by one member have intersecting majorities (for n old
/// members, a majority of n and a majority of n ± 1 share a monitor), and a monitor never acks an
/// election or a Paxos round under an older map than its own, so no quorum of the old map can
/// decide a version after v once a new-map quorum has formed.
extension MonitorMachine {
    // MARK: The client command

    /// Leader: queues a membership change, or answers at once why it cannot be made.
    mutating func queueMembershipChange(_ write: PendingWrite) {
        if pendingMembershipChange != nil || paxos.proposal?.isMembershipChange == true || monmapToAdopt != nil {
            return replyToWrite(write, result: .retry,
                                message: "a monmap change is already in progress (e\(monmap.epoch) → e\(monmap.epoch + 1)); retry once it is committed")
        }
        switch nextMonmap(for: write.command) {
        case let .failure(refusal):
            replyToWrite(write, result: refusal.result, message: refusal.message)
        case .success(nil):
            replyToWrite(write, result: .ok, message: unchangedMessage(for: write.command))
        case .success(.some):
            guard isWritable || paxos.phase == .active || paxos.phase == .updating else {
                return replyToWrite(write, result: .retry, message: "mon.\(name) is the leader but not serving yet; retry")
            }
            pendingMembershipChange = write
            proposeNextIfIdle()
        }
    }

    /// Why a membership change is refused: the reply's result and message.
    struct MembershipRefusal: Error {
        var result: CommandResult
        var message: String
    }

    /// The map `command` makes of ``monmap``: `nil` when it changes nothing (the monitor is already
    /// a member at that address, or already gone), a refusal when it cannot be made.
    func nextMonmap(for command: MMonCommand) -> Result<MonMap?, MembershipRefusal> {
        let members = monmap.members.map { (name: $0.name, address: $0.address) }
        var next = members
        switch command.op {
        case .monAdd:
            let address = String(decoding: command.value, as: UTF8.self)
            if let existing = monmap.member(named: command.key) {
                if existing.address == address { return .success(nil) }
                return .failure(MembershipRefusal(result: .invalid, message: "mon.\(command.key) is already a member at \(existing.address); remove it first to move it"))
            }
            if let holder = monmap.members.first(where: { $0.address == address }) {
                return .failure(MembershipRefusal(result: .invalid, message: "\(address) is mon.\(holder.name)'s address"))
            }
            next.append((command.key, address))
        case .monRemove:
            guard monmap.member(named: command.key) != nil else { return .success(nil) }
            guard monmap.count > 1 else {
                return .failure(MembershipRefusal(result: .invalid, message: "mon.\(command.key) is the only monitor; a cluster cannot remove its last member"))
            }
            next.removeAll { $0.name == command.key }
        case .put, .get, .delete, .list, .status:
            return .failure(MembershipRefusal(result: .invalid, message: "\(command.op) is not a membership change"))
        }
        do {
            return .success(try MonMap(epoch: monmap.epoch + 1, named: next))
        } catch {
            return .failure(MembershipRefusal(result: .invalid, message: "the new monmap would be invalid: \(error)"))
        }
    }

    private func unchangedMessage(for command: MMonCommand) -> String {
        command.op == .monAdd ? "mon.\(command.key) is already a member at that address (monmap e\(monmap.epoch))"
            : "mon.\(command.key) is not in the monmap (e\(monmap.epoch)): already removed, or never added"
    }

    /// Leader: proposes the queued membership change alone in a version of its own, if one is queued.
    /// Returns whether it began a round.
    mutating func proposeMembershipChange() -> Bool {
        guard let write = pendingMembershipChange else { return false }
        pendingMembershipChange = nil
        switch nextMonmap(for: write.command) {
        case let .failure(refusal):
            replyToWrite(write, result: refusal.result, message: refusal.message)
            return false
        case .success(nil):
            replyToWrite(write, result: .ok, message: unchangedMessage(for: write.command))
            return false
        case let .success(map?):
            logger.notice("proposing a monmap change", metadata: ["change": "\(write.command.op) \(write.command.key)",
                                                                  "epoch": "\(map.epoch)", "monmap": "\(map)"])
            begin(monmapService.transaction(committing: map).encoded(), writes: [write], isTrim: false)
            return true
        }
    }

    // MARK: Adopting a map

    /// Notes a committed transaction's required features at once, and its monmap, to adopt at the end of the step.
    mutating func noteCommitted(_ transaction: StoreTransaction) {
        if let required = monmapService.committedRequiredFeatures(in: transaction) {
            requiredFeatures.formUnion(required)
        }
        guard let map = monmapService.committedMap(in: transaction), map.epoch > (monmapToAdopt ?? monmap).epoch else { return }
        monmapToAdopt = map
    }

    /// Follows `map` if it is newer than ``monmap``: persists it as the map this monitor follows,
    /// then bootstraps under it, or — when `map` no longer names this monitor — stops taking part.
    mutating func adopt(_ map: MonMap, reason: String) {
        guard map.epoch > monmap.epoch else { return }
        let previous = monmap
        monmap = map
        statistics.monmapsAdopted += 1
        var transaction = StoreTransaction()
        transaction.setLatestMonmap(map.encoded())
        persist(transaction)
        guard let me = map.member(named: name) else {
            logger.warning("removed from the monmap: this monitor takes no further part; stop it", metadata: [
                "epoch": "\(map.epoch)", "monmap": "\(map)", "how": "\(reason)"])
            leaveQuorum(reason: "removed from the monmap")
            syncProvider.reset()
            cancelAllTimers()
            state = .removed
            return
        }
        rank = me.rank
        logger.notice("monmap changed", metadata: ["from": "\(previous.epoch)", "to": "\(map.epoch)", "monmap": "\(map)",
                                                   "rank": "\(rank)", "how": "\(reason)"])
        bootstrap(reason: "monmap e\(map.epoch) (\(reason))")
    }

    /// Adopts the store's monmap if it is newer (after a store sync brought one). Returns whether it did.
    mutating func adoptStoredMonmap() -> Bool {
        let stored: MonMap
        do { stored = try monmapService.newest(configured: monmap, in: store) } catch {
            noteStoreFailure(error, during: "reading the monmap")
            return false
        }
        guard stored.epoch > monmap.epoch else { return false }
        adopt(stored, reason: "received with a store sync")
        return true
    }

    /// Adopts the monmap a peer's probe reply offers, if it is newer and well formed.
    mutating func adoptOffered(epoch: UInt32, members: [MonitorEntity], from peer: Int32) {
        guard epoch > monmap.epoch, !members.isEmpty else { return }
        do {
            adopt(try MonMap(epoch: epoch, members: members), reason: "learned from mon.\(peer)")
        } catch {
            noteStale("an invalid monmap e\(epoch) from mon.\(peer): \(error)")
        }
    }

    // MARK: Removed

    /// A removed monitor answers status (and refuses the rest), and ignores the protocol — except a
    /// probe from a monitor that follows an older map, which it answers with its own.
    ///
    /// It may be the only monitor that knows its removal committed: a leader that removed itself
    /// from two members commits once the other accepted, and if that COMMIT is lost the other
    /// still follows the old map, where it cannot form a majority without the removed one. Told the
    /// new map, it adopts it, is elected alone and commits the change again (found uncommitted in
    /// recovery). The reply carries only a committed map and takes no part in any quorum.
    mutating func stepWhileRemoved(_ input: MonitorInput) -> [MonitorAction] {
        switch input {
        case .start:
            logger.warning("this monitor is not in the monmap it follows: it takes no part; stop it",
                           metadata: ["epoch": "\(monmap.epoch)", "monmap": "\(monmap)"])
        case let .message(probe as MMonProbe, sender) where probe.op == .probe && probe.monmapEpoch < monmap.epoch:
            send(probeMessage(op: .reply, offeringMonmapAbove: probe.monmapEpoch), to: sender)
        case let .message(command as MMonCommand, sender):
            handleCommand(command, from: sender)
        case let .propose(id, _):
            actions.append(.finishProposal(id: id, .failure(.noQuorum)))
        case .stop:
            cancelAllTimers()
            state = .shutdown
        case .message, .timer, .persistFailed, .syncFinished, .releaseTrim, .syncChunksReady:
            break
        }
        let result = actions
        actions = []
        return result
    }
}
