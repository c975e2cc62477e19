import DequeModule
public import Logging
public import MonSyncCore
public import MonSyncMessages

/// The Leader role of the store sync as a synchronous state machine: grants syncs, keeps the
/// versions each one needs, and times out requesters that go silent.
///
/// It does not trim; it tells the monitor's Paxos how far trimming may go (``trimFloor``) and,
/// when the log has grown too long to keep waiting, which syncs a trim would break
/// (``abortSyncs(neededBelow:lastCommitted:)``). The monitor owns the one threshold, its
/// `trimDisabledMaxVersions`, and passes it in.
///
/// - START (from a member, or forwarded once by a member with REPLY_TO naming one): the leader
///   grants with START_REPLY naming a provider (a random quorum member other than itself and the
///   requester when there is one) and the quorum to fail over to. Past the threshold it answers
///   RETRY. A member that does not lead forwards a START once; a forwarded START that reaches a
///   non-leader is answered RETRY (`not_leader`). A START from, or naming, a non-member is dropped
///   and counted: clients cannot start a sync.
/// - Each grant records the lowest version its sync still needs: everything retained when it was
///   granted, then — once HEARTBEATs report the copy's base version — the versions after it.
/// - HEARTBEAT renews the grant's deadline (``SyncConfiguration/trimTimeout``). A HEARTBEAT for a
///   sync this leader does not know (leadership moved) re-establishes a grant when every version
///   it needs is still retained, and is answered ABORT (`trim_required`) otherwise.
/// - FINISH is always answered FINISH_REPLY; an ABORT from the requester ends its grant.
/// - When the last grant ends, its floor lingers for ``SyncConfiguration/trimEnableDelay`` so the
///   synced monitor can catch up through Paxos before those versions are trimmed.
/// - Losing the leadership forgets every grant; requesters re-establish them with the next leader.
public struct SyncLeaderMachine: Sendable {
    /// What the leader knows of its monitor when it handles an input.
    public struct Context: Sendable {
        /// This monitor.
        public var me: MonitorEntity
        /// Whether this monitor leads a quorum now.
        public var isLeader: Bool
        /// The leader, if one is known (this monitor when it leads).
        public var leader: MonitorEntity?
        /// The quorum's members (this monitor included when it leads).
        public var quorum: [MonitorEntity]
        /// The monmap's members.
        public var members: [MonitorEntity]
        /// The monitor's `first_committed`: the oldest version its log retains.
        public var firstCommitted: UInt64
        /// The monitor's `last_committed`.
        public var lastCommitted: UInt64
        /// The monitor's `trimDisabledMaxVersions`: versions the log may grow by while a sync holds trim.
        public var trimDisabledMaxVersions: UInt64
        /// The monitor's time, for deadlines.
        public var now: Duration

        /// A context; the monitor builds one for each input.
        public init(me: MonitorEntity, isLeader: Bool, leader: MonitorEntity?, quorum: [MonitorEntity],
                    members: [MonitorEntity], firstCommitted: UInt64, lastCommitted: UInt64,
                    trimDisabledMaxVersions: UInt64, now: Duration) {
            self.me = me
            self.isLeader = isLeader
            self.leader = leader
            self.quorum = quorum
            self.members = members
            self.firstCommitted = firstCommitted
            self.lastCommitted = lastCommitted
            self.trimDisabledMaxVersions = trimDisabledMaxVersions
            self.now = now
        }

        func isMember(_ address: TransportAddress) -> Bool {
            members.contains { $0.address == address.description }
        }
    }

    /// One granted sync.
    public struct Grant: Sendable, Hashable {
        /// The sync's session id, as the requester chose it.
        public var session: UInt64
        /// The lowest Paxos version this sync may still need.
        public var neededFrom: UInt64
        /// When the grant ends without a heartbeat.
        public var deadline: Duration
    }

    /// Counts for `status` and tests.
    public struct Statistics: Sendable, Hashable {
        /// STARTs granted.
        public var accepted = 0
        /// STARTs answered RETRY: the held log had passed the threshold.
        public var retried = 0
        /// STARTs forwarded to the leader by this member, which did not lead.
        public var forwarded = 0
        /// STARTs answered RETRY (`not_leader`): forwarded already, or no leader known.
        public var refusedNotLeader = 0
        /// Messages from, or naming, a sender outside the monmap, dropped.
        public var refusedStrangers = 0
        /// Grants re-established from a HEARTBEAT after leadership moved.
        public var reestablished = 0
        /// FINISHes received: syncs that swapped their copy in.
        public var finished = 0
        /// Grants dropped after ``SyncConfiguration/trimTimeout`` without a HEARTBEAT.
        public var timedOut = 0
        /// Syncs aborted (`trim_required`) because a trim had to remove versions they needed.
        public var abortedForTrim = 0
        /// Messages for a sync this leader does not know, or repeated ones, that were dropped.
        public var staleMessages = 0
    }

    /// The timers and limits the leader follows.
    public let configuration: SyncConfiguration
    var logger: Logger
    /// The granted syncs, by requester (a member: at most one entry per monmap member).
    public private(set) var grants: [TransportAddress: Grant] = [:]
    /// `last_committed` when the oldest running hold began; `nil` when no sync holds trim.
    public private(set) var heldSince: UInt64?
    /// The floor of syncs that ended lately, kept until ``lingerUntil``.
    var lingeringFloor: UInt64?
    var lingerUntil: Duration?
    /// Sessions aborted for trim: a late heartbeat of theirs must not re-establish a grant.
    var abortedSessions: Deque<UInt64> = []
    /// What the leader did so far.
    public private(set) var statistics = Statistics()

    /// A leader with no grant.
    ///
    /// - Parameters:
    ///   - configuration: its timers (``SyncConfiguration/trimTimeout``, ``SyncConfiguration/trimEnableDelay``).
    ///   - logger: the base logger.
    public init(configuration: SyncConfiguration, logger: Logger = Logger(label: "monsync.sync.leader")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether any sync holds trim (running, or ended less than ``SyncConfiguration/trimEnableDelay`` ago).
    public var isHoldingTrim: Bool { !grants.isEmpty || lingeringFloor != nil }

    /// The lowest version a running or lately ended sync needs: trimming must not go above it
    /// (`first_committed` ≤ this), unless the held log passed the threshold and those syncs are
    /// aborted first. `nil` when nothing is held.
    public var trimFloor: UInt64? {
        let floors = grants.values.map(\.neededFrom) + [lingeringFloor].compactMap { $0 }
        return floors.min()
    }

    /// Whether the log grew past the threshold since the hold began: new syncs get RETRY, and a
    /// trim may go past the floor after aborting the syncs it breaks.
    public func isPastThreshold(lastCommitted: UInt64, trimDisabledMaxVersions: UInt64) -> Bool {
        guard let heldSince else { return false }
        return lastCommitted >= heldSince &+ trimDisabledMaxVersions
    }

    /// When ``expire(now:)`` must run next (a grant's deadline or the end of the linger).
    public var nextDeadline: Duration? {
        (grants.values.map(\.deadline) + [lingerUntil].compactMap { $0 }).min()
    }

    // MARK: Handlers

    /// START: grant, refuse with RETRY, forward once to the leader, or drop a stranger's.
    public mutating func handleStart(_ message: MMonSync, from sender: TransportAddress, context: Context,
                                     random: inout SeededRandomNumberGenerator) -> [SyncSend] {
        let requester = message.replyTo.flatMap { try? TransportAddress($0.address) } ?? sender
        guard context.isMember(sender), context.isMember(requester), requester.description != context.me.address else {
            statistics.refusedStrangers += 1
            return []
        }
        guard context.isLeader else { return notLeader(message, requester: requester, context: context) }
        if let grant = grants[requester], grant.session == message.session {
            // A duplicate START (the reply was lost): answer again, without a second grant.
            grants[requester]!.deadline = context.now + configuration.trimTimeout
            return [reply(to: message, requester: requester, context: context, random: &random)]
        }
        if isPastThreshold(lastCommitted: context.lastCommitted, trimDisabledMaxVersions: context.trimDisabledMaxVersions) {
            statistics.retried += 1
            logger.info("refusing a sync until trim catches up", metadata: ["requester": "\(requester)", "held_since": "\(heldSince ?? 0)"])
            return [SyncSend(MMonSync(op: .startReply, flags: .retry, session: message.session,
                                      firstCommitted: context.firstCommitted, reason: .trimRequired), to: requester)]
        }
        statistics.accepted += 1
        grant(requester, session: message.session, neededFrom: context.firstCommitted, context: context)
        logger.info("sync granted", metadata: ["requester": "\(requester)", "session": "\(message.session)"])
        return [reply(to: message, requester: requester, context: context, random: &random)]
    }

    /// HEARTBEAT: renew the grant, or re-establish one lost with a leader change.
    public mutating func handleHeartbeat(_ message: MMonSync, from requester: TransportAddress, context: Context) -> [SyncSend] {
        guard context.isMember(requester) else {
            statistics.refusedStrangers += 1
            return []
        }
        guard context.isLeader else {
            statistics.staleMessages += 1  // not the leader: the requester tries the next member
            return []
        }
        // Once the copy has a base version, it needs only the versions after it.
        let needs = message.requesterVersion == 0 ? context.firstCommitted : message.requesterVersion + 1
        if grants[requester]?.session != message.session {
            // A sync that started under another leader. Keep it if we still hold what it needs.
            guard context.firstCommitted <= needs, !abortedSessions.contains(message.session),
                  !isPastThreshold(lastCommitted: context.lastCommitted, trimDisabledMaxVersions: context.trimDisabledMaxVersions) else {
                statistics.abortedForTrim += 1
                return [SyncSend(MMonSync(op: .abort, session: message.session, reason: .trimRequired), to: requester)]
            }
            statistics.reestablished += 1
            logger.info("re-established the trim hold for a sync begun under another leader", metadata: ["requester": "\(requester)"])
            grant(requester, session: message.session, neededFrom: needs, context: context)
        } else {
            grants[requester]!.deadline = context.now + configuration.trimTimeout
            if message.requesterVersion > 0 { grants[requester]!.neededFrom = max(grants[requester]!.neededFrom, needs) }
        }
        return [SyncSend(MMonSync(op: .heartbeatReply, session: message.session, sequence: message.sequence,
                                  firstCommitted: context.firstCommitted), to: requester)]
    }

    /// FINISH: always acknowledged; the requester's grant ends, its floor lingers.
    public mutating func handleFinish(_ message: MMonSync, from requester: TransportAddress, context: Context) -> [SyncSend] {
        guard context.isMember(requester) else {
            statistics.refusedStrangers += 1
            return []
        }
        if grants[requester]?.session == message.session {
            statistics.finished += 1
            end(requester, reason: "finished", now: context.now, keep: message.version + 1)
        }
        return [SyncSend(MMonSync(op: .finishReply, session: message.session), to: requester)]
    }

    /// ABORT from a requester that gives up: its grant ends. Returns whether it named a known grant.
    public mutating func handleAbort(_ message: MMonSync, from requester: TransportAddress, now: Duration) -> Bool {
        guard grants[requester]?.session == message.session else { return false }
        end(requester, reason: "aborted by the requester", now: now, keep: nil)
        return true
    }

    /// Ends the grants whose deadline passed, and the linger once it is over.
    public mutating func expire(now: Duration) {
        for (requester, grant) in grants where now >= grant.deadline {
            statistics.timedOut += 1
            end(requester, reason: "no heartbeat for \(configuration.trimTimeout)", now: now, keep: nil)
        }
        // The linger ends on time whether or not other syncs run (they keep their own floors):
        // kept past its end, its deadline would stay in the past and fire again at once, forever.
        if let until = lingerUntil, now >= until {
            lingeringFloor = nil
            lingerUntil = nil
            if grants.isEmpty {
                heldSince = nil
                logger.info("trim released")
            }
        }
    }

    /// A trim to `firstCommitted` is about to be proposed past ``trimFloor``: aborts exactly the
    /// syncs that need a version below it (ABORT `trim_required`, to be sent before the trim).
    /// The syncs that remain start a new hold at `lastCommitted`: each gets the whole threshold again.
    public mutating func abortSyncs(neededBelow firstCommitted: UInt64, lastCommitted: UInt64) -> [SyncSend] {
        var sends: [SyncSend] = []
        for (requester, grant) in grants.sorted(by: { $0.key < $1.key }) where grant.neededFrom < firstCommitted {
            statistics.abortedForTrim += 1
            abortedSessions.append(grant.session)
            if abortedSessions.count > 256 { abortedSessions.removeFirst() }
            logger.warning("aborting a sync: the log outgrew the trim hold", metadata: [
                "requester": "\(requester)", "needs_from": "\(grant.neededFrom)", "trim_to": "\(firstCommitted)",
            ])
            grants[requester] = nil
            sends.append(SyncSend(MMonSync(op: .abort, session: grant.session, reason: .trimRequired), to: requester))
        }
        if let floor = lingeringFloor, floor < firstCommitted { lingeringFloor = nil }
        if grants.isEmpty && lingeringFloor == nil {
            heldSince = nil
            lingerUntil = nil
        } else {
            heldSince = lastCommitted
        }
        return sends
    }

    /// This monitor stopped leading: forget every grant (requesters re-establish them with the next leader).
    public mutating func leadershipLost() {
        grants.removeAll()
        lingeringFloor = nil
        lingerUntil = nil
        heldSince = nil
    }

    // MARK: Internals

    private mutating func notLeader(_ message: MMonSync, requester: TransportAddress, context: Context) -> [SyncSend] {
        if message.replyTo == nil, let leader = context.leader, leader.address != context.me.address,
           let leaderAddress = try? TransportAddress(leader.address),
           let entity = context.members.first(where: { $0.address == requester.description }) {
            // Forward once, remembering whom to answer; the leader never forwards again.
            statistics.forwarded += 1
            let forwarded = MMonSync(op: .start, replyTo: entity, session: message.session,
                                     requesterVersion: message.requesterVersion)
            return [SyncSend(forwarded, to: leaderAddress)]
        }
        statistics.refusedNotLeader += 1
        return [SyncSend(MMonSync(op: .startReply, flags: .retry, session: message.session, reason: .notLeader), to: requester)]
    }

    private mutating func grant(_ requester: TransportAddress, session: UInt64, neededFrom: UInt64, context: Context) {
        if heldSince == nil {
            heldSince = context.lastCommitted
            logger.info("trim held for sync", metadata: ["since_version": "\(context.lastCommitted)"])
        }
        lingerUntil = nil
        grants[requester] = Grant(session: session, neededFrom: neededFrom, deadline: context.now + configuration.trimTimeout)
    }

    private func reply(to message: MMonSync, requester: TransportAddress, context: Context,
                       random: inout SeededRandomNumberGenerator) -> SyncSend {
        let candidates = context.quorum.filter { $0.address != requester.description }
        let others = candidates.filter { $0.address != context.me.address }
        // Spread the load: a random quorum member other than the leader, as Ceph does; the leader if alone.
        let provider = others.isEmpty ? nil : others[Int(random.next() % UInt64(others.count))]
        return SyncSend(MMonSync(op: .startReply, replyTo: provider, session: message.session,
                                 firstCommitted: context.firstCommitted, quorum: candidates), to: requester)
    }

    private mutating func end(_ requester: TransportAddress, reason: String, now: Duration, keep floor: UInt64?) {
        guard let grant = grants.removeValue(forKey: requester) else { return }
        logger.info("sync ended", metadata: ["requester": "\(requester)", "reason": "\(reason)"])
        // Let the synced monitor catch up through Paxos before trimming resumes.
        let keep = floor ?? grant.neededFrom
        lingeringFloor = min(lingeringFloor ?? keep, keep)
        lingerUntil = now + configuration.trimEnableDelay
    }
}
