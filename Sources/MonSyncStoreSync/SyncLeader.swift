public import Logging
public import MonSyncCore

/// The Leader role: holds Paxos trim off while syncs run, and times out requesters that go silent.
///
/// - START (from the requester, or forwarded once by a peon with REPLY_TO): the
///   leader accepts with START_REPLY naming a provider (a quorum member other
///   than itself when there is one, chosen from a seeded generator) and the
///   quorum to fail over to, holds trim, and arms a trim timeout for that
///   requester. It answers RETRY once the log has grown by
///   ``SyncConfiguration/maxHeldVersions`` under the hold. A monitor that is
///   not the leader forwards a START once; a forwarded START that reaches a
///   non-leader is answered RETRY (`not_leader`), never forwarded again.
/// - HEARTBEAT renews the requester's trim timeout. A heartbeat for a sync this
///   leader does not know (leadership moved during the sync) re-establishes the
///   hold when this leader still retains every version the copy needs, and is
///   answered ABORT (`trim_required`) otherwise.
/// - FINISH is always answered FINISH_REPLY (finishing is idempotent).
/// - When the last sync ends (finish, abort or timeout), trim is released
///   after ``SyncConfiguration/trimEnableDelay``, so the synced monitor can
///   catch up through Paxos first.
/// - ``trimMustResume()``: Paxos must trim past what the running syncs need;
///   they are aborted explicitly (`trim_required`) before the hold is released.
public actor SyncLeader {
    struct Entry {
        var requester: TransportAddress
        var session: UInt64
        var deadline: Duration
    }

    /// Counts for `status` and tests.
    public struct Statistics: Sendable, Hashable {
        public var accepted = 0
        public var retried = 0
        public var forwarded = 0
        public var refusedNotLeader = 0
        public var reestablished = 0
        public var finished = 0
        public var timedOut = 0
        public var abortedForTrim = 0
        public var staleMessages = 0
    }

    private let environment: any SyncLeaderEnvironment
    private let trim: any TrimHoldControl
    private let configuration: SyncConfiguration
    private let timebase: Timebase
    private let logger: Logger
    private var rng: SeededRandomNumberGenerator
    private var entries: [TransportAddress: Entry] = [:]
    private var timeoutTasks: [TransportAddress: Task<Void, Never>] = [:]
    /// The `last_committed` when the hold began; `nil` when trim is not held.
    private var holdSince: UInt64?
    private var releaseTask: Task<Void, Never>?
    /// Sessions this leader aborted for trim: a late heartbeat of theirs must not re-establish a hold.
    private var abortedSessions: [UInt64] = []
    public private(set) var statistics = Statistics()

    public init(environment: any SyncLeaderEnvironment, trim: any TrimHoldControl, configuration: SyncConfiguration,
                timebase: Timebase, seed: UInt64, logger: Logger = Logger(label: "monsync.sync.leader")) {
        self.environment = environment
        self.trim = trim
        self.configuration = configuration
        self.timebase = timebase
        self.logger = logger
        rng = SeededRandomNumberGenerator(seed: seed)
    }

    /// The requesters whose syncs hold trim.
    public var activeSyncs: [TransportAddress] { entries.keys.sorted() }

    /// Whether trim is held (for `status`).
    public var isHoldingTrim: Bool { holdSince != nil }

    // MARK: - Handlers

    /// START: accept, refuse with RETRY, or forward once to the leader.
    public func handleStart(_ message: MMonSync, context: MessageContext) async {
        let requester = (message.replyTo.flatMap { try? TransportAddress($0.address) }) ?? context.sender
        let me = await environment.localEntity()
        guard let leader = await environment.currentLeader(), leader.address == me.address else {
            await notLeader(message, requester: requester, context: context)
            return
        }
        let (first, last) = await environment.paxosBounds()
        if let entry = entries[requester], entry.session == message.session {
            // A duplicate START (the reply was lost): answer again, without a second hold.
            await accept(message, requester: requester, firstCommitted: first, dispatcher: context.dispatcher, renewOnly: true)
            return
        }
        if let since = holdSince, last >= since + configuration.maxHeldVersions {
            statistics.retried += 1
            logger.info("refusing a sync until trim catches up", metadata: ["requester": "\(requester)", "held_since": "\(since)"])
            try? await context.dispatcher.send(MMonSync(op: .startReply, flags: .retry, session: message.session,
                                                        firstCommitted: first, reason: .trimRequired), to: requester)
            return
        }
        await beginHold(at: last)
        await accept(message, requester: requester, firstCommitted: first, dispatcher: context.dispatcher, renewOnly: false)
    }

    /// HEARTBEAT: renew the trim timeout, or re-establish a hold lost with a leader change.
    public func handleHeartbeat(_ message: MMonSync, context: MessageContext) async {
        let requester = context.sender
        let me = await environment.localEntity()
        guard let leader = await environment.currentLeader(), leader.address == me.address else {
            statistics.staleMessages += 1  // not the leader: the requester will find the new one
            return
        }
        let (first, last) = await environment.paxosBounds()
        if entries[requester]?.session != message.session {
            // A sync that started under another leader. Keep it if we still hold what it needs.
            let needs = message.requesterVersion == 0 ? first : message.requesterVersion + 1
            guard first <= needs, !abortedSessions.contains(message.session),
                  holdSince.map({ last < $0 + configuration.maxHeldVersions }) ?? true else {
                statistics.abortedForTrim += 1
                try? await context.reply(MMonSync(op: .abort, session: message.session, reason: .trimRequired))
                return
            }
            statistics.reestablished += 1
            logger.info("re-established the trim hold for a sync begun under another leader", metadata: ["requester": "\(requester)"])
            await beginHold(at: last)
            entries[requester] = Entry(requester: requester, session: message.session, deadline: .zero)
        }
        renew(requester)
        try? await context.reply(MMonSync(op: .heartbeatReply, session: message.session, sequence: message.sequence,
                                          firstCommitted: first))
    }

    /// FINISH: always acknowledged; the requester's hold ends.
    public func handleFinish(_ message: MMonSync, context: MessageContext) async {
        if entries[context.sender]?.session == message.session {
            statistics.finished += 1
            await end(context.sender, reason: "finished")
        }
        try? await context.reply(MMonSync(op: .finishReply, session: message.session))
    }

    /// ABORT from a requester that gives up: its hold ends. Returns whether it named a known sync.
    @discardableResult
    public func handleAbort(_ message: MMonSync, from requester: TransportAddress) async -> Bool {
        guard entries[requester]?.session == message.session else { return false }
        await end(requester, reason: "aborted by the requester")
        return true
    }

    /// Paxos must trim past the hold: abort every running sync explicitly, then release trim at once.
    public func trimMustResume(dispatcher: Dispatcher) async {
        for entry in entries.values {
            abortedSessions.append(entry.session)
            if abortedSessions.count > 256 { abortedSessions.removeFirst(abortedSessions.count - 256) }
            statistics.abortedForTrim += 1
            logger.warning("aborting a sync: trim can no longer be held", metadata: ["requester": "\(entry.requester)"])
            try? await dispatcher.send(MMonSync(op: .abort, session: entry.session, reason: .trimRequired), to: entry.requester)
        }
        for task in timeoutTasks.values { task.cancel() }
        timeoutTasks.removeAll()
        entries.removeAll()
        releaseTask?.cancel()
        releaseTask = nil
        holdSince = nil
        await trim.setTrimHeld(false)
    }

    /// This monitor stopped leading: forget the holds (requesters re-establish them with the new leader).
    public func leadershipLost() async {
        for task in timeoutTasks.values { task.cancel() }
        timeoutTasks.removeAll()
        entries.removeAll()
        releaseTask?.cancel()
        releaseTask = nil
        if holdSince != nil {
            holdSince = nil
            await trim.setTrimHeld(false)
        }
    }

    // MARK: - Internals

    private func notLeader(_ message: MMonSync, requester: TransportAddress, context: MessageContext) async {
        let leader = await environment.currentLeader()
        if message.replyTo == nil, let leader, let leaderAddress = try? TransportAddress(leader.address) {
            // Forward once, remembering whom to answer; the leader never forwards again.
            statistics.forwarded += 1
            let forwarded = MMonSync(op: .start, replyTo: MonitorEntity(rank: -1, name: "", address: "\(requester)"),
                                     session: message.session, requesterVersion: message.requesterVersion)
            try? await context.dispatcher.send(forwarded, to: leaderAddress)
            return
        }
        statistics.refusedNotLeader += 1
        try? await context.dispatcher.send(MMonSync(op: .startReply, flags: .retry, session: message.session,
                                                    reason: .notLeader), to: requester)
    }

    private func accept(_ message: MMonSync, requester: TransportAddress, firstCommitted: UInt64,
                        dispatcher: Dispatcher, renewOnly: Bool) async {
        let me = await environment.localEntity()
        let candidates = await environment.providerCandidates().filter { $0.address != "\(requester)" }
        let others = candidates.filter { $0.address != me.address }
        // Spread the load: a random quorum member other than the leader, as Ceph does; the leader if alone.
        let provider = others.isEmpty ? nil : others[Int(rng.next() % UInt64(others.count))]
        if !renewOnly {
            statistics.accepted += 1
            entries[requester] = Entry(requester: requester, session: message.session, deadline: .zero)
            logger.info("sync granted", metadata: ["requester": "\(requester)", "provider": "\(provider?.address ?? me.address)"])
        }
        renew(requester)
        let reply = MMonSync(op: .startReply, replyTo: provider, session: message.session, firstCommitted: firstCommitted,
                             quorum: candidates)
        try? await dispatcher.send(reply, to: requester)
    }

    private func beginHold(at version: UInt64) async {
        releaseTask?.cancel()
        releaseTask = nil
        if holdSince == nil {
            holdSince = version
            logger.info("trim held for sync", metadata: ["since_version": "\(version)"])
            await trim.setTrimHeld(true)
        }
    }

    private func renew(_ requester: TransportAddress) {
        guard entries[requester] != nil else { return }
        entries[requester]!.deadline = timebase.now + configuration.trimTimeout
        guard timeoutTasks[requester] == nil else { return }
        timeoutTasks[requester] = DeadlineWatch.start(timebase: timebase,
                                                      deadline: { [weak self] in await self?.entries[requester]?.deadline },
                                                      fire: { [weak self] in await self?.timedOut(requester) })
    }

    private func timedOut(_ requester: TransportAddress) async {
        guard let entry = entries[requester], timebase.now >= entry.deadline else { return }
        statistics.timedOut += 1
        await end(requester, reason: "no heartbeat for \(configuration.trimTimeout)")
    }

    private func end(_ requester: TransportAddress, reason: String) async {
        entries[requester] = nil
        timeoutTasks.removeValue(forKey: requester)?.cancel()
        logger.info("sync ended", metadata: ["requester": "\(requester)", "reason": "\(reason)"])
        guard entries.isEmpty, holdSince != nil, releaseTask == nil else { return }
        // Let the synced monitor catch up through Paxos before trimming resumes.
        // The moment is fixed now, not when the task first runs, so a late-starting task still
        // releases on time.
        let releaseAt = timebase.now + configuration.trimEnableDelay
        releaseTask = Task { [weak self, timebase] in
            do { try await timebase.sleep(until: releaseAt) } catch { return }
            await self?.releaseHold()
        }
    }

    private func releaseHold() async {
        releaseTask = nil
        guard entries.isEmpty, holdSince != nil else { return }
        holdSince = nil
        logger.info("trim released")
        await trim.setTrimHeld(false)
    }
}
