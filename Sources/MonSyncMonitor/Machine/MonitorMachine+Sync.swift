import MonSyncCore
import MonSyncMessages
import MonSyncStore
import MonSyncStoreSync

/// The store sync's leader and provider roles inside the monitor's step (Ceph's `handle_sync`):
/// they see the monitor's state as it is in the same step, so no decision can interleave with
/// an election, a commit or a trim.
///
/// The requester's ops (START_REPLY, HEARTBEAT_REPLY, CHUNK, FINISH_REPLY) belong to the
/// requester's driver, which copies the store while this monitor is synchronizing; the shell
/// routes them there. An ABORT that names no provider session and no grant here is passed on to
/// it (``MonitorAction/toSyncRequester(_:from:)``).
extension MonitorMachine {
    mutating func handleSync(_ message: MMonSync, from sender: TransportAddress) {
        switch message.op {
        case .start:
            var random = self.random
            let sends = syncLeader.handleStart(message, from: sender, context: syncLeaderContext, random: &random)
            self.random = random
            send(sends)
        case .heartbeat:
            send(syncLeader.handleHeartbeat(message, from: sender, context: syncLeaderContext))
        case .finish:
            send(syncLeader.handleFinish(message, from: sender, context: syncLeaderContext))
            proposeNextIfIdle()
        case .startChunks:
            send(syncProvider.handleStartChunks(message, from: sender, isMember: monmap.rank(of: sender) != nil,
                                                canServe: canServeSync, targets: services.syncTargetNames, now: now))
        case .chunkReply:
            send(syncProvider.handleChunkReply(message, from: sender, now: now))
        case .abort:
            if syncProvider.handleAbort(message, from: sender) { return }
            if syncLeader.handleAbort(message, from: sender, now: now) { return }
            actions.append(.toSyncRequester(message, from: sender))
        case .startReply, .heartbeatReply, .chunk, .finishReply:
            actions.append(.toSyncRequester(message, from: sender))
        }
    }

    /// A sync timer fired: grants or provider sessions whose deadline passed end.
    mutating func syncTimerFired(_ timer: MonitorTimer) {
        switch timer {
        case .syncLeader:
            let wasHolding = syncLeader.isHoldingTrim
            syncLeader.expire(now: now)
            if wasHolding && !syncLeader.isHoldingTrim { proposeNextIfIdle() }
        case .syncProvider:
            send(syncProvider.expire(now: now))
        default:
            break
        }
    }

    /// Chunks the provider's snapshots read ahead are in: send what the windows allow.
    mutating func syncChunksReady() {
        send(syncProvider.resumeReadySessions(now: now))
    }

    /// Arms (or cancels) the two sync timers at the roles' next deadlines; run after every step,
    /// because bootstraps and elections cancel every timer while provider sessions live on.
    mutating func rearmSyncTimers() {
        for (timer, deadline) in [(MonitorTimer.syncLeader, syncLeader.nextDeadline), (.syncProvider, syncProvider.nextDeadline)] {
            if let deadline {
                if syncTimerDeadlines[timer] != deadline || !isArmed(timer) {
                    syncTimerDeadlines[timer] = deadline
                    arm(timer, at: deadline)
                }
            } else if isArmed(timer) {
                syncTimerDeadlines[timer] = nil
                cancel(timer)
            }
        }
    }

    /// Whether this monitor may serve a sync: it holds a committed member's store and is not
    /// syncing itself. Quorum membership is deliberately not required (nor is it in Ceph): when a
    /// provider dies mid-sync in a three-monitor cluster, the survivor has lost its quorum, and
    /// finishing the requester's sync is the only way back to a majority. The copy stays safe: the
    /// snapshot holds committed versions only, and the requester joins through Paxos recovery.
    var canServeSync: Bool {
        switch state {
        case .synchronizing, .shutdown, .removed: return false
        case .probing, .electing, .leader, .peon: break
        }
        if case .needsFullSync = lastJoinDecision { return false }
        return paxos.lastCommitted > 0
    }

    var syncLeaderContext: SyncLeaderMachine.Context {
        let members = monmap.members
        return SyncLeaderMachine.Context(
            me: members[Int(rank)], isLeader: state == .leader,
            leader: leader.flatMap { monmap.member(rank: $0) },
            quorum: state.isInQuorum ? quorum.compactMap { monmap.member(rank: $0) } : [],
            members: members, firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted,
            trimDisabledMaxVersions: configuration.trimDisabledMaxVersions, now: now)
    }

    /// The trim to propose now, with the ABORTs that must go out before it, or `nil`.
    ///
    /// A trim that removes nothing a sync needs goes ahead. One that would is cut back to the
    /// lowest version a sync needs — until the log has grown by
    /// ``MonitorConfiguration/trimDisabledMaxVersions`` since the hold began; then the syncs that
    /// need what it removes (only those) are aborted first, and the trim goes the whole way.
    mutating func syncAwareTrimTarget() -> UInt64? {
        // External holds (``holdTrim(reason:)``) keep everything until the same threshold.
        guard var target = trimPolicy.trimTarget(firstCommitted: paxos.firstCommitted, lastCommitted: paxos.lastCommitted,
                                                 heldSince: trimHolds.heldSince) else { return nil }
        if let floor = syncLeader.trimFloor, floor < target {
            if syncLeader.isPastThreshold(lastCommitted: paxos.lastCommitted, trimDisabledMaxVersions: configuration.trimDisabledMaxVersions) {
                send(syncLeader.abortSyncs(neededBelow: target, lastCommitted: paxos.lastCommitted))
            } else {
                target = floor
            }
        }
        return target > paxos.firstCommitted ? target : nil
    }

    private mutating func send(_ sends: [SyncSend]) {
        for item in sends { send(item.message, to: item.destination) }
    }
}
