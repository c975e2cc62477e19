import DequeModule
public import Logging
public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// A message a sync role wants sent: queued without waiting, dropped and counted if its destination does not drain.
public struct SyncSend: Sendable, CustomStringConvertible {
    /// The message to send.
    public var message: MMonSync
    /// Where it goes.
    public var destination: TransportAddress

    /// A send of `message` to `destination`.
    public init(_ message: MMonSync, to destination: TransportAddress) {
        self.message = message
        self.destination = destination
    }

    public var description: String { "\(message) → \(destination)" }
}

/// The Sync Provider as a synchronous state machine: streams a consistent snapshot of the sync
/// targets to each requester, in chunks, with a window of unacknowledged ones.
///
/// One session per requester sync (keyed by the requester's address and session id), over a
/// store snapshot taken when the session starts. Every chunk carries its CRC32C and the snapshot's
/// Paxos version; the last one carries `MMonSync.Flags.last`. Acknowledgements are cumulative.
/// A session that hears nothing for ``SyncConfiguration/providerTimeout`` is dropped and its
/// snapshot released (the owner fires ``expire(now:)`` at ``nextDeadline``).
///
/// - A requester must be a monmap member; anyone else is dropped and counted — unless its
///   START_CHUNKS carries `MMonSync.Flags.backup`: a backup client (`monsync snapshot save`)
///   streams the snapshot into a file. Who may ask for a backup stream is the shell's decision,
///   made before the message gets here (an authenticated key with the `backup` or `monitor` role,
///   or anyone on a transport that authenticates nobody); chunks go only to the sender's own
///   address, never to one a message names. Backup sessions have their own cap
///   (``SyncConfiguration/maxBackupSessions``), so backups never take a member's sync slot.
/// - A provider that cannot serve answers ABORT (`cannot_serve`); one already serving
///   ``SyncConfiguration/maxProviderSessions`` syncs (or ``SyncConfiguration/maxBackupSessions``
///   backups) answers ABORT with RETRY (`busy`).
/// - A resume (`requester_version` below this snapshot's version) first streams the Paxos versions
///   in between, so a copy assembled from several providers can be rolled forward to one version;
///   when this provider no longer holds them it answers ABORT (`trim_required`).
/// - The window asked for is clamped to 1…``SyncConfiguration/maxWindow``.
/// - With ``SyncConfiguration/providerByteRate``, all sessions together send at most that many
///   chunk bytes a second: a paused provider resumes at ``nextDeadline`` (its owner's timer).
///
/// The machine reads the store (snapshots) synchronously and does no other I/O: every handler
/// returns the messages to send. A snapshot may read its chunks ahead on another thread
/// (`StoreSnapshot.readyChunk(after:limits:)`): a chunk not read yet leaves the window open
/// until the owner calls ``resumeReadySessions(now:)``.
public struct SyncProviderMachine: Sendable {
    struct SessionKey: Hashable, Sendable {
        var requester: TransportAddress
        var session: UInt64
    }

    struct Session: Sendable {
        var snapshot: any StoreSnapshot
        var version: UInt64
        var firstCommitted: UInt64
        var position: SyncKey
        /// Paxos versions still to send before the keys (a resume from another provider's snapshot).
        var replay: ArraySlice<(key: String, value: [UInt8])>
        var window: Int
        var sent: UInt64
        var acked: UInt64
        var finished = false
        var deadline: Duration
        var estimatedBytes: UInt64
        var bytesSent: UInt64 = 0
        /// The first chunk number the START_CHUNKS that opened this stream asked for.
        var startSequence: UInt64
        /// A backup client's stream (START_CHUNKS with BACKUP), counted against the backup cap.
        var isBackup = false
    }

    /// Counts for `status` and tests.
    public struct Statistics: Sendable, Hashable {
        /// Sessions opened by a START_CHUNKS.
        public var sessionsStarted = 0
        /// Sessions whose last chunk was acknowledged.
        public var sessionsCompleted = 0
        /// Sessions dropped after ``SyncConfiguration/providerTimeout`` without an acknowledgement.
        public var sessionsExpired = 0
        /// Sessions ended by the requester's ABORT, or because the snapshot could not be read.
        public var sessionsAborted = 0
        /// START_CHUNKS answered RETRY: ``SyncConfiguration/maxProviderSessions`` sessions were running.
        public var refusedBusy = 0
        /// START_CHUNKS refused because this monitor could not serve (syncing itself, or nothing committed).
        public var refusedCannotServe = 0
        /// START_CHUNKS from a sender outside the monmap, dropped.
        public var refusedStrangers = 0
        /// Backup streams started (also counted in ``sessionsStarted``).
        public var backupSessionsStarted = 0
        /// Backup streams whose last chunk was acknowledged (also counted in ``sessionsCompleted``).
        public var backupSessionsCompleted = 0
        /// Chunks sent, over every session.
        public var chunksSent = 0
        /// Bytes of chunks sent, over every session.
        public var bytesSent = 0
        /// Messages for a session that had ended, or repeated ones, that were dropped.
        public var staleMessages = 0
        /// Times the byte-rate limit paused the provider (``SyncConfiguration/providerByteRate``).
        public var rateLimitPauses = 0
    }

    /// The timers and limits the provider follows.
    public let configuration: SyncConfiguration
    let store: any MonitorStore
    var logger: Logger
    var sessions: [SessionKey: Session] = [:]
    /// Streams that ended lately, by the first chunk number their START_CHUNKS asked for (at most
    /// ``endedStreamMemory``, oldest forgotten first): that START_CHUNKS arriving again — duplicated
    /// by the network, late — must not open a new session nobody reads.
    var endedStreams: [SessionKey: UInt64] = [:]
    var endedOrder: Deque<SessionKey> = []
    static let endedStreamMemory = 256
    /// What the provider did so far.
    public private(set) var statistics = Statistics()
    /// The byte budget under ``SyncConfiguration/providerByteRate``: what may be sent now (negative:
    /// owed), as of `budgetTime`; and whether a session stopped for want of it.
    var budget: Double = 0
    var budgetTime: Duration?
    var pausedForBudget = false

    /// A provider with no session, serving snapshots of `store`.
    ///
    /// - Parameters:
    ///   - store: the store whose snapshots it streams.
    ///   - configuration: its timers and limits (``SyncConfiguration/providerTimeout``, ``SyncConfiguration/maxProviderSessions``, ``SyncConfiguration/chunkLimits``, ``SyncConfiguration/maxWindow``).
    ///   - logger: the base logger.
    public init(store: any MonitorStore, configuration: SyncConfiguration,
                logger: Logger = Logger(label: "monsync.sync.provider")) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// The number of sessions being served, backups included.
    public var activeSessions: Int { sessions.count }

    /// The number of backup streams being served.
    public var activeBackupSessions: Int { sessions.values.filter(\.isBackup).count }

    /// When ``expire(now:)`` must run next: the earliest session deadline, or sooner, the moment
    /// a provider paused by its byte-rate limit may send again (`nil`: no session).
    public var nextDeadline: Duration? {
        let expiry = sessions.values.map(\.deadline).min()
        guard pausedForBudget, let resume = budgetResumes, let expiry else { return expiry }
        return min(expiry, resume)
    }

    // MARK: Handlers

    /// START_CHUNKS: start (or restart) a session and send the first window of chunks.
    ///
    /// - Parameters:
    ///   - message: the START_CHUNKS, naming the session, the requester's version and its resume key.
    ///   - sender: the requester's address, where the chunks go.
    ///   - isMember: whether `sender` is a monmap member (only members may sync; anyone the shell
    ///     let through may ask for a backup stream).
    ///   - canServe: whether this monitor holds a committed member's store and is not syncing itself.
    ///   - targets: the prefixes to copy.
    ///   - now: the monitor's time; the session's deadline counts from it.
    public mutating func handleStartChunks(_ message: MMonSync, from sender: TransportAddress, isMember: Bool,
                                           canServe: Bool, targets: [String], now: Duration) -> [SyncSend] {
        let isBackup = message.flags.contains(.backup)
        guard isMember || isBackup else {
            statistics.refusedStrangers += 1
            return []
        }
        let key = SessionKey(requester: sender, session: message.session)
        if sessions[key] == nil, let ended = endedStreams[key], ended == message.sequence {
            statistics.staleMessages += 1
            return []
        }
        if let running = sessions[key] {
            // The START_CHUNKS of the running stream again: the network duplicated it. Restarting would
            // send a newer snapshot's chunks under this stream's numbers. The running stream answers it.
            if running.startSequence == message.sequence {
                statistics.staleMessages += 1
                return []
            }
            forget(key)  // a requester that restarts with us starts over (its streams never reuse numbers)
        }
        guard canServe else {
            statistics.refusedCannotServe += 1
            return [refusal(message, to: sender, reason: .cannotServe, retry: false)]
        }
        let (running, cap) = isBackup
            ? (activeBackupSessions, configuration.maxBackupSessions)
            : (sessions.count - activeBackupSessions, configuration.maxProviderSessions)
        guard running < cap else {
            statistics.refusedBusy += 1
            return [refusal(message, to: sender, reason: .busy, retry: true)]
        }
        var session: Session
        do {
            session = try makeSession(for: message, targets: targets, now: now)
        } catch let refusal as Refusal {
            return [self.refusal(message, to: sender, reason: refusal.reason, retry: false)]
        } catch {
            logger.error("cannot open a snapshot for a sync", metadata: ["requester": "\(sender)", "error": "\(error)"])
            return [refusal(message, to: sender, reason: .cannotServe, retry: false)]
        }
        session.isBackup = isBackup
        sessions[key] = session
        statistics.sessionsStarted += 1
        if isBackup { statistics.backupSessionsStarted += 1 }
        logger.info(isBackup ? "serving a backup" : "serving sync", metadata: [
            "requester": "\(sender)", "session": "\(message.session)", "version": "\(session.version)",
            "resume_after": "\(message.lastKey)", "window": "\(session.window)",
        ])
        return pump(key, now: now)
    }

    /// CHUNK_REPLY: a cumulative acknowledgement; sends more chunks, or ends the session after the last.
    public mutating func handleChunkReply(_ message: MMonSync, from sender: TransportAddress, now: Duration) -> [SyncSend] {
        let key = SessionKey(requester: sender, session: message.session)
        guard var session = sessions[key], message.sequence <= session.sent, message.sequence > session.acked else {
            statistics.staleMessages += 1
            return []
        }
        session.acked = message.sequence
        session.deadline = now + configuration.providerTimeout
        // The requester's window now (0 from a requester that does not adapt it: unchanged).
        if message.window > 0 { session.window = Self.clampedWindow(message.window, configuration) }
        sessions[key] = session
        if session.finished && session.acked == session.sent {
            statistics.sessionsCompleted += 1
            if session.isBackup { statistics.backupSessionsCompleted += 1 }
            logger.info("sync served", metadata: ["requester": "\(sender)", "session": "\(message.session)",
                                                  "chunks": "\(session.sent)", "bytes": "\(session.bytesSent)"])
            forget(key)
            return []
        }
        return pump(key, now: now)
    }

    /// ABORT from a requester: drops its session. Returns whether one was dropped.
    public mutating func handleAbort(_ message: MMonSync, from requester: TransportAddress) -> Bool {
        let key = SessionKey(requester: requester, session: message.session)
        guard sessions[key] != nil else { return false }
        statistics.sessionsAborted += 1
        forget(key)
        return true
    }

    /// Drops the sessions whose deadline has passed, and resumes the sessions a byte-rate pause
    /// held back once the budget allows: returns their chunks.
    public mutating func expire(now: Duration) -> [SyncSend] {
        for (key, session) in sessions where now >= session.deadline {
            statistics.sessionsExpired += 1
            logger.warning("sync session expired", metadata: ["requester": "\(key.requester)", "session": "\(key.session)"])
            forget(key)
        }
        guard pausedForBudget, let resume = budgetResumes, now >= resume else { return [] }
        pausedForBudget = false
        // Each pump stops when the budget does.
        return orderedKeys.flatMap { pump($0, now: now) }
    }

    /// Sends what the window and the byte budget allow now that chunks a snapshot was reading
    /// ahead are ready (`StoreSnapshot.readyChunk(after:limits:)` answered `nil` before).
    public mutating func resumeReadySessions(now: Duration) -> [SyncSend] {
        orderedKeys.flatMap { pump($0, now: now) }
    }

    /// Drops every session (this monitor starts syncing itself, or stops).
    public mutating func reset() {
        for key in Array(sessions.keys) { forget(key) }
        pausedForBudget = false
    }

    // MARK: Internals

    /// The sessions in a fixed order: the simulator replays runs exactly.
    private var orderedKeys: [SessionKey] {
        sessions.keys.sorted { ($0.requester.description, $0.session) < ($1.requester.description, $1.session) }
    }

    struct Refusal: Error { var reason: SyncAbortReason }

    /// A window a requester asked for, within `1…maxWindow`: neither refused nor echoed back.
    static func clampedWindow(_ asked: UInt32, _ configuration: SyncConfiguration) -> Int {
        max(1, min(Int(asked), configuration.maxWindow))
    }

    private func makeSession(for message: MMonSync, targets: [String], now: Duration) throws -> Session {
        let snapshot = try store.snapshot(of: targets)
        // Read the log through the snapshot itself, so versions and data agree.
        let log = try PaxosImage(snapshot: snapshot, versionsAfter: message.requesterVersion)
        var replay: [(key: String, value: [UInt8])] = []
        if message.requesterVersion > 0 && message.requesterVersion < log.lastCommitted {
            // The requester holds data consistent with an older snapshot: it needs every version since.
            let needed = (message.requesterVersion + 1)...log.lastCommitted
            guard needed.allSatisfy({ log.versions[$0] != nil }) else { throw Refusal(reason: .trimRequired) }
            replay = needed.map { (PaxosLog.key(for: $0), log.versions[$0]!) }
        }
        let window = Self.clampedWindow(message.window, configuration)
        // The requester numbers each stream from where it asks, so chunks of an abandoned stream are stale to it.
        let before = max(1, message.sequence) - 1
        return Session(snapshot: snapshot, version: log.lastCommitted, firstCommitted: log.firstCommitted,
                       position: message.lastKey, replay: replay[...], window: window, sent: before, acked: before,
                       deadline: now + configuration.providerTimeout, estimatedBytes: snapshot.estimatedSize,
                       startSequence: message.sequence)
    }

    /// The byte rate as a Double, or `nil` without a limit.
    private var byteRate: Double? { configuration.providerByteRate > 0 ? Double(configuration.providerByteRate) : nil }

    /// When a paused provider's budget turns positive again.
    private var budgetResumes: Duration? {
        guard let rate = byteRate, let budgetTime else { return nil }
        return budget > 0 ? budgetTime : budgetTime + .nanoseconds(Int64((-budget / rate * 1e9).rounded(.up)) + 1)
    }

    /// Whether the byte budget lets a chunk go now (refilled for the time since it was last read).
    /// The budget never holds more than one chunk's worth or a twentieth of a second's, whichever
    /// is more: a provider idle for a minute does not then send a minute's bytes at once.
    private mutating func budgetAllowsChunk(now: Duration) -> Bool {
        guard let rate = byteRate else { return true }
        let ceiling = max(Double(configuration.chunkLimits.maxBytes), rate / 20)
        if let budgetTime {
            let elapsed = now - budgetTime
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            budget = min(ceiling, budget + rate * max(0, seconds))
        } else {
            budget = ceiling
        }
        budgetTime = now
        guard budget > 0 else {
            if !pausedForBudget { statistics.rateLimitPauses += 1 }
            pausedForBudget = true
            return false
        }
        return true
    }

    /// The chunks the window (and the byte budget) allows now.
    private mutating func pump(_ key: SessionKey, now: Duration) -> [SyncSend] {
        var sends: [SyncSend] = []
        while true {
            if let session = sessions[key], !session.finished, session.sent - session.acked < UInt64(session.window),
               !budgetAllowsChunk(now: now) {
                return sends
            }
            do {
                guard let message = try nextChunk(key) else { return sends }
                sends.append(SyncSend(message, to: key.requester))
            } catch {
                logger.error("cannot read the snapshot", metadata: ["requester": "\(key.requester)", "error": "\(error)"])
                statistics.sessionsAborted += 1
                forget(key)
                sends.append(SyncSend(MMonSync(op: .abort, session: key.session, reason: .cannotServe), to: key.requester))
                return sends
            }
        }
    }

    /// Builds the next chunk message, or `nil` when the window is full or everything was sent.
    private mutating func nextChunk(_ key: SessionKey) throws -> MMonSync? {
        guard var session = sessions[key], !session.finished, session.sent - session.acked < UInt64(session.window) else {
            return nil
        }
        let body: [UInt8]
        var last = false
        var lastKey = session.position
        if !session.replay.isEmpty {
            // Replay material first: the versions a resumed requester needs to roll forward.
            var transaction = StoreTransaction()
            var size = 0
            while let entry = session.replay.first, size == 0 || size + entry.value.count <= configuration.chunkLimits.maxBytes {
                transaction.put(PaxosLog.prefix, entry.key, entry.value)
                size += entry.value.count
                session.replay.removeFirst()
            }
            body = transaction.encoded()
        } else {
            // Encoded straight from the snapshot's entries: no String or array per key. A snapshot
            // that reads ahead on another thread may not have it yet: the owner steps the machine
            // with ``resumeReadySessions(now:)`` once it does.
            guard let chunk = try session.snapshot.readyChunk(after: session.position, limits: configuration.chunkLimits) else {
                return nil
            }
            body = chunk.bytes
            lastKey = chunk.lastKey
            session.position = chunk.lastKey
            last = chunk.isComplete
        }
        session.sent += 1
        session.finished = last
        session.bytesSent += UInt64(body.count)
        sessions[key] = session
        if byteRate != nil { budget -= Double(body.count) }
        statistics.chunksSent += 1
        statistics.bytesSent += body.count
        return MMonSync(op: .chunk, flags: last ? [.crc, .last] : [.crc], version: session.version, chunk: body[...],
                        lastKey: lastKey, crc: CRC32C.checksum(body), session: key.session, sequence: session.sent,
                        firstCommitted: session.firstCommitted, estimatedBytes: session.estimatedBytes)
    }

    private func refusal(_ message: MMonSync, to requester: TransportAddress, reason: SyncAbortReason, retry: Bool) -> SyncSend {
        logger.info("refusing a sync", metadata: ["requester": "\(requester)", "reason": "\(reason)"])
        return SyncSend(MMonSync(op: .abort, flags: retry ? .retry : [], session: message.session, reason: reason), to: requester)
    }

    /// Drops a session, remembering which START_CHUNKS opened it.
    private mutating func forget(_ key: SessionKey) {
        guard let session = sessions.removeValue(forKey: key) else { return }
        if endedStreams.updateValue(session.startSequence, forKey: key) == nil { endedOrder.append(key) }
        while endedOrder.count > Self.endedStreamMemory, let oldest = endedOrder.popFirst() { endedStreams[oldest] = nil }
    }
}
