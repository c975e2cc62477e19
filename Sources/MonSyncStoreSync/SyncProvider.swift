import DequeModule
public import Logging
public import MonSyncCore
public import MonSyncStore

/// What a provider needs to know about its own monitor to decide whether it may serve.
public protocol SyncProviderEnvironment: Sendable {
    /// Whether this monitor can serve a sync now: not syncing itself, with a committed store (quorum not required).
    func canServeSync() async -> Bool
    /// The store prefixes to copy (`get_sync_targets_names`).
    func syncTargets() async -> [String]
}

/// The Sync Provider role: streams a consistent snapshot of the sync targets to a requester, in chunks.
///
/// One session per requester sync (keyed by the requester's address and session
/// id), over a store snapshot taken when the session starts. Chunks go out with
/// a window of unacknowledged ones (acknowledgements are cumulative); every chunk
/// carries its CRC32C and the snapshot's Paxos version; the last one carries
/// ``MMonSync/Flags/last``. A session that hears nothing for
/// ``SyncConfiguration/providerTimeout`` is dropped and its snapshot released.
/// A provider that cannot serve answers ABORT (`cannot_serve`); one already
/// serving ``SyncConfiguration/maxProviderSessions`` answers ABORT with RETRY
/// (`busy`); it never crashes on a request.
///
/// A resume (`START_CHUNKS` whose `requester_version` is below this snapshot's
/// version) first streams the Paxos versions in between, so a copy assembled
/// from several providers can be rolled forward to one version (Ceph's §3.4).
public actor SyncProvider {
    struct SessionKey: Hashable, Sendable {
        var requester: TransportAddress
        var session: UInt64
    }

    struct Session {
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
        var startSequence: UInt64 = 0
    }

    /// Counts for `status` and tests.
    public struct Statistics: Sendable, Hashable {
        public var sessionsStarted = 0
        public var sessionsCompleted = 0
        public var sessionsExpired = 0
        public var sessionsAborted = 0
        public var refusedBusy = 0
        public var refusedCannotServe = 0
        public var chunksSent = 0
        public var bytesSent = 0
        public var staleMessages = 0
    }

    private let store: any MonitorStore
    private let environment: any SyncProviderEnvironment
    private let configuration: SyncConfiguration
    private let timebase: Timebase
    private let logger: Logger
    private var sessions: [SessionKey: Session] = [:]
    /// Streams that ended lately, by the first chunk number their START_CHUNKS asked for (at most
    /// `endedStreamMemory`, oldest forgotten first): that START_CHUNKS arriving again — duplicated
    /// by the network, late — must not open a new session nobody reads.
    private var endedStreams: [SessionKey: UInt64] = [:]
    private var endedOrder: Deque<SessionKey> = []
    private let endedStreamMemory = 256
    private var expiryTasks: [SessionKey: Task<Void, Never>] = [:]
    public private(set) var statistics = Statistics()

    public init(store: any MonitorStore, environment: any SyncProviderEnvironment, configuration: SyncConfiguration,
                timebase: Timebase, logger: Logger = Logger(label: "monsync.sync.provider")) {
        self.store = store
        self.environment = environment
        self.configuration = configuration
        self.timebase = timebase
        self.logger = logger
    }

    /// The number of sessions being served.
    public var activeSessions: Int { sessions.count }

    /// START_CHUNKS: start (or restart) a session and send the first window of chunks.
    public func handleStartChunks(_ message: MMonSync, context: MessageContext) async {
        let key = SessionKey(requester: context.sender, session: message.session)
        if sessions[key] == nil, let ended = endedStreams[key], ended == message.sequence {
            statistics.staleMessages += 1
            return
        }
        if let running = sessions[key] {
            // The START_CHUNKS of the running stream again: the network duplicated it. Restarting would
            // send a newer snapshot's chunks under this stream's numbers, which the requester cannot tell
            // apart, so its copy could skip keys whose chunk boundaries moved. The running stream answers it.
            if running.startSequence == message.sequence {
                statistics.staleMessages += 1
                return
            }
            end(key)  // a requester that restarts with us starts over (its streams never reuse numbers)
        }
        guard await environment.canServeSync() else {
            statistics.refusedCannotServe += 1
            await refuse(message, context: context, reason: .cannotServe, retry: false)
            return
        }
        guard sessions.count < configuration.maxProviderSessions else {
            statistics.refusedBusy += 1
            await refuse(message, context: context, reason: .busy, retry: true)
            return
        }
        let session: Session
        do {
            session = try await makeSession(for: message)
        } catch let refusal as Refusal {
            await refuse(message, context: context, reason: refusal.reason, retry: false)
            return
        } catch {
            logger.error("cannot open a snapshot for a sync", metadata: ["requester": "\(context.sender)", "error": "\(error)"])
            await refuse(message, context: context, reason: .cannotServe, retry: false)
            return
        }
        sessions[key] = session
        statistics.sessionsStarted += 1
        armExpiry(key)
        logger.info("serving sync", metadata: [
            "requester": "\(context.sender)", "session": "\(message.session)", "version": "\(session.version)",
            "resume_after": "\(message.lastKey)", "window": "\(session.window)",
        ])
        await pump(key, dispatcher: context.dispatcher)
    }

    /// CHUNK_REPLY: a cumulative acknowledgement; sends more chunks, or ends the session after the last.
    public func handleChunkReply(_ message: MMonSync, context: MessageContext) async {
        let key = SessionKey(requester: context.sender, session: message.session)
        guard var session = sessions[key], message.sequence <= session.sent else {
            statistics.staleMessages += 1
            return
        }
        session.acked = max(session.acked, message.sequence)
        session.deadline = timebase.now + configuration.providerTimeout
        sessions[key] = session
        if session.finished && session.acked == session.sent {
            statistics.sessionsCompleted += 1
            logger.info("sync served", metadata: ["requester": "\(context.sender)", "session": "\(message.session)",
                                                  "chunks": "\(session.sent)", "bytes": "\(session.bytesSent)"])
            end(key)
            return
        }
        await pump(key, dispatcher: context.dispatcher)
    }

    /// ABORT from the requester: drop its session.
    /// - Returns: whether a session was dropped.
    @discardableResult
    public func handleAbort(_ message: MMonSync, from requester: TransportAddress) -> Bool {
        let key = SessionKey(requester: requester, session: message.session)
        guard sessions[key] != nil else { return false }
        statistics.sessionsAborted += 1
        end(key)
        return true
    }

    /// Drops every session (this monitor starts syncing itself, or shuts down).
    public func reset() {
        for key in Array(sessions.keys) { end(key) }
    }

    // MARK: - Internals

    struct Refusal: Error { var reason: SyncAbortReason }

    private func makeSession(for message: MMonSync) async throws -> Session {
        let targets = await environment.syncTargets()
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
        let window = max(1, min(Int(max(1, message.window)), configuration.maxWindow))
        // The requester numbers each stream from where it asks, so chunks of an abandoned stream are stale to it.
        let before = max(1, message.sequence) - 1
        return Session(snapshot: snapshot, version: log.lastCommitted, firstCommitted: log.firstCommitted,
                       position: message.lastKey, replay: replay[...], window: window, sent: before, acked: before,
                       deadline: timebase.now + configuration.providerTimeout, estimatedBytes: snapshot.estimatedSize,
                       startSequence: message.sequence)
    }

    /// Builds the next chunk message, or `nil` when the window is full or everything was sent.
    private func nextChunk(_ key: SessionKey) throws -> MMonSync? {
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
            // Encoded straight from the snapshot's entries: no String or array per key.
            let chunk = try session.snapshot.encodedChunk(after: session.position, limits: configuration.chunkLimits)
            body = chunk.bytes
            lastKey = chunk.lastKey
            session.position = chunk.lastKey
            last = chunk.isComplete
        }
        session.sent += 1
        session.finished = last
        session.bytesSent += UInt64(body.count)
        sessions[key] = session
        statistics.chunksSent += 1
        statistics.bytesSent += body.count
        return MMonSync(op: .chunk, flags: last ? [.crc, .last] : [.crc], version: session.version, chunk: body[...],
                        lastKey: lastKey, crc: CRC32C.checksum(body), session: key.session, sequence: session.sent,
                        firstCommitted: session.firstCommitted, estimatedBytes: session.estimatedBytes)
    }

    private func pump(_ key: SessionKey, dispatcher: Dispatcher) async {
        while true {
            let message: MMonSync?
            do {
                message = try nextChunk(key)
            } catch let refusal as Refusal {
                await abort(key, reason: refusal.reason, dispatcher: dispatcher)
                return
            } catch {
                logger.error("cannot read the snapshot", metadata: ["requester": "\(key.requester)", "error": "\(error)"])
                await abort(key, reason: .cannotServe, dispatcher: dispatcher)
                return
            }
            guard let message else { return }
            do {
                try await dispatcher.send(message, to: key.requester)
            } catch {
                logger.warning("cannot send a chunk; dropping the session",
                               metadata: ["requester": "\(key.requester)", "error": "\(error)"])
                statistics.sessionsAborted += 1
                end(key)
                return
            }
        }
    }

    private func abort(_ key: SessionKey, reason: SyncAbortReason, dispatcher: Dispatcher) async {
        statistics.sessionsAborted += 1
        end(key)
        try? await dispatcher.send(MMonSync(op: .abort, session: key.session, reason: reason), to: key.requester)
    }

    private func refuse(_ message: MMonSync, context: MessageContext, reason: SyncAbortReason, retry: Bool) async {
        logger.info("refusing a sync", metadata: ["requester": "\(context.sender)", "reason": "\(reason)"])
        try? await context.reply(MMonSync(op: .abort, flags: retry ? .retry : [], session: message.session, reason: reason))
    }

    private func end(_ key: SessionKey) {
        forget(key)
        expiryTasks.removeValue(forKey: key)?.cancel()
    }

    /// Drops a session, remembering which START_CHUNKS opened it.
    private func forget(_ key: SessionKey) {
        guard let session = sessions.removeValue(forKey: key) else { return }
        if endedStreams.updateValue(session.startSequence, forKey: key) == nil { endedOrder.append(key) }
        while endedOrder.count > endedStreamMemory, let oldest = endedOrder.popFirst() { endedStreams[oldest] = nil }
    }

    private func armExpiry(_ key: SessionKey) {
        expiryTasks[key] = DeadlineWatch.start(timebase: timebase,
                                               deadline: { [weak self] in await self?.deadline(of: key) },
                                               fire: { [weak self] in await self?.expire(key) })
    }

    private func deadline(of key: SessionKey) -> Duration? { sessions[key]?.deadline }

    private func expire(_ key: SessionKey) {
        guard let session = sessions[key], timebase.now >= session.deadline else { return }
        statistics.sessionsExpired += 1
        logger.warning("sync session expired", metadata: ["requester": "\(key.requester)", "session": "\(key.session)"])
        forget(key)
        expiryTasks[key] = nil
    }
}
