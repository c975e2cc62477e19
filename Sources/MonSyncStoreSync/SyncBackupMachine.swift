public import Logging
import MonSyncCore
public import MonSyncMessages
import MonSyncStore

/// The backup client (`monsync snapshot save`) as a synchronous state machine: streams one
/// consistent snapshot of the sync targets from a monitor into a file, over the store sync's own
/// messages.
///
/// A backup is a store sync's streaming half without the rest: no START to the leader (so no
/// trim hold, nothing for a leader to keep), no staging, no swap, no election — the client is
/// not a member and never counts in a quorum. It sends START_CHUNKS with
/// `MMonSync.Flags.backup` to one monitor, which serves it from a snapshot at one Paxos version
/// with the same ``SyncProviderMachine`` that serves syncs; chunks are accepted by the sync
/// requester's own rules (``ChunkStream``), written, then acknowledged.
///
/// A stream that fails — no chunk within ``Configuration/chunkTimeout``, an ABORT, a chunk that
/// fails its checks or that the file refuses — is abandoned (ABORT to its provider, which frees
/// its snapshot) and the backup starts over, from the first key, with the next monitor: a file
/// holds one snapshot at one version, never keys of two. After a whole round of monitors failed
/// the next round waits ``Configuration/retryBackoff``; after ``Configuration/maxAttempts``
/// streams the backup fails. A monitor that refuses the key (`permission_denied`) ends it at once.
///
/// Time comes in with each input; the machine does no I/O and returns ``SyncBackupAction``s.
public struct SyncBackupMachine: Sendable {
    /// The backup client's timers and limits.
    public struct Configuration: Sendable, Hashable {
        /// How long a stream may go without an accepted chunk (its first included) before the
        /// next monitor is tried.
        public var chunkTimeout: Duration = .seconds(15)
        /// Unacknowledged chunks a provider may have in flight (it clamps this to its maximum).
        public var window: Int = 8
        /// Streams started, over all monitors, before the backup fails.
        public var maxAttempts: Int = 6
        /// The pause before another round once every monitor failed in one.
        public var retryBackoff: Duration = .seconds(2)

        /// The defaults: 15 s chunk timeout, window 8, 6 streams, 2 s between rounds.
        public init() {}
    }

    enum Phase: Sendable {
        case idle
        case streaming(ChunkStream)
        case backingOff
        case ended
    }

    /// The timers and window the backup follows.
    public let configuration: Configuration
    /// The monitors to stream from, in the order they are tried.
    public let providers: [MonitorEntity]
    /// The backup's session id (every stream carries it).
    public let session: UInt64
    var logger: Logger

    var phase: Phase = .idle
    /// The progress so far; bytes, keys and chunks count the current stream (the file is started over with each).
    public private(set) var progress = SyncProgress()
    var providerIndex = 0
    var attempts = 0
    /// Whether any monitor sent anything at all (a CHUNK or an ABORT).
    var heard = false
    var lastFailure = "none"
    var nextSequence: UInt64 = 1
    var timerGeneration: UInt64 = 0
    var armed = false
    var started: Duration = .zero
    var now: Duration = .zero
    var actions: [SyncBackupAction] = []

    /// - Parameters:
    ///   - configuration: the backup's timers and window.
    ///   - providers: the monitors to try, best first (MonSync's client: the quorum's peons, then
    ///     the leader, then the rest). Without any, the backup fails at once.
    ///   - session: the backup's id, never 0 (drawn at random: a restarted client never reuses one).
    ///   - logger: where the streams' starts, failovers and end are logged.
    public init(configuration: Configuration = Configuration(), providers: [MonitorEntity], session: UInt64,
                logger: Logger = Logger(label: "monsync.backup")) {
        self.configuration = configuration
        self.providers = providers.filter { (try? TransportAddress($0.address)) != nil }
        self.session = max(1, session)
        self.logger = logger
        progress.session = self.session
    }

    /// Whether the backup has ended (a ``SyncBackupAction/finished(_:)`` was returned).
    public var hasEnded: Bool {
        if case .ended = phase { return true }
        return false
    }

    /// Handles `input` at time `now`; returns what the driver must do, in order.
    ///
    /// A file action that fails ends the list there: the driver feeds ``SyncBackupInput/chunkRefused(_:)``
    /// or ``SyncBackupInput/writeFailed(_:)``.
    public mutating func step(_ input: SyncBackupInput, now: Duration) -> [SyncBackupAction] {
        self.now = max(self.now, now)
        actions = []
        if hasEnded { return [] }
        switch input {
        case .begin:
            guard case .idle = phase else { break }
            started = self.now
            progress.phase = .requesting
            if providers.isEmpty {
                lastFailure = "no monitor to ask"
                end(.failure(.noAnswer(attempts: 0, lastReason: lastFailure)))
            } else {
                startStream()
            }
        case let .message(message, sender):
            receive(message, from: sender)
        case let .timer(generation):
            guard armed, generation == timerGeneration else { break }
            armed = false
            switch phase {
            case .streaming: abandonStream(because: "no chunk for \(configuration.chunkTimeout)")
            case .backingOff: startStream()
            case .idle, .ended: break
            }
        case let .chunkRefused(reason):
            progress.corruptChunks += 1
            abandonStream(because: "the file refused a chunk: \(reason)")
        case let .writeFailed(reason):
            fail(.writeFailed(reason))
        case .cancel:
            fail(.cancelled)
        }
        if !hasEnded { progress.elapsed = self.now - started }
        defer { actions = [] }
        return actions
    }

    // MARK: Streams

    private var provider: MonitorEntity { providers[providerIndex % providers.count] }

    private mutating func startStream() {
        attempts += 1
        let entity = provider
        guard let address = try? TransportAddress(entity.address) else { return }
        let first = nextSequence
        // A backup keeps the window it was given: `snapshot save --window` is a promise to the operator.
        let window = ChunkWindow(initial: configuration.window, ceiling: configuration.window)
        phase = .streaming(ChunkStream(provider: address, first: first, window: window))
        progress.provider = address.description
        progress.phase = .requesting
        logger.info("asking for a backup stream", metadata: ["provider": "\(entity)", "attempt": "\(attempts)"])
        send(MMonSync(op: .startChunks, flags: .backup, session: session, sequence: first,
                      window: UInt32(max(1, configuration.window))), to: address)
        arm(at: now + configuration.chunkTimeout)
    }

    private mutating func receive(_ message: MMonSync, from sender: TransportAddress) {
        guard case var .streaming(stream) = phase, sender == stream.provider, message.session == session else {
            // Another provider's late chunks, an earlier stream's: the file takes one stream at a time.
            return progress.staleMessages += 1
        }
        switch message.op {
        case .abort:
            heard = true
            progress.aborts += 1
            if message.reason == .permissionDenied { return fail(.permissionDenied(provider: "\(provider)"), tellProvider: false) }
            if message.flags.contains(.retry) { progress.retries += 1 }
            return abandonStream(because: "\(provider) refused: \(message.reason)", tellProvider: false)
        case .chunk:
            heard = true
        case .start, .startReply, .heartbeat, .heartbeatReply, .finish, .finishReply, .startChunks, .chunkReply:
            return progress.staleMessages += 1
        }
        let chunk: EncodedTransaction
        switch stream.check(message, from: sender) {
        case .stale:
            return progress.staleMessages += 1
        case let .gap(expected, received):
            return abandonStream(because: "chunk \(expected) lost (got \(received))")
        case let .corrupt(reason):
            progress.corruptChunks += 1
            return abandonStream(because: reason)
        case let .versionChanged(from, to):
            return abandonStream(because: "snapshot version changed within a stream (v\(from), then v\(to))")
        case let .valid(valid):
            chunk = valid
        }
        if stream.version == nil {
            // The first chunk: the file starts over, for this provider's snapshot.
            progress.bytes = 0
            progress.keys = 0
            progress.chunks = 0
            progress.phase = .streaming
            actions.append(.beginFile(provider: provider, version: message.version, firstCommitted: message.firstCommitted))
        }
        stream.advance(accepting: message.version, now: now)
        nextSequence = stream.expected
        progress.chunks += 1
        progress.keys += UInt64(chunk.count)
        progress.bytes += UInt64(message.chunk.count)
        progress.estimatedBytes = message.estimatedBytes
        let last = message.flags.contains(.last)
        let acknowledgement = stream.acknowledgement(of: message.sequence, session: session, last: last, now: now)
        phase = .streaming(stream)
        actions.append(.write(chunk))
        send(acknowledgement, to: sender)
        guard last else { return arm(at: now + configuration.chunkTimeout) }
        cancelTimer()
        end(.success(SyncBackupOutcome(provider: provider, version: message.version, firstCommitted: message.firstCommitted,
                                       progress: progress)))
    }

    /// Gives the current stream up and moves on: the next monitor, after a pause once a whole round failed.
    private mutating func abandonStream(because reason: String, tellProvider: Bool = true) {
        guard case let .streaming(stream) = phase else { return }
        lastFailure = reason
        logger.warning("backup stream failed", metadata: ["provider": "\(provider)", "reason": "\(reason)"])
        // Frees the provider's snapshot now rather than after its session timeout.
        if tellProvider { send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: stream.provider) }
        // The next stream numbers its chunks beyond any this one may still have in flight.
        nextSequence = max(nextSequence, stream.first) + UInt64(max(configuration.window, 64)) + 1
        guard attempts < max(1, configuration.maxAttempts) else {
            return fail(heard ? .noProviderServed(attempts: attempts, lastReason: reason)
                              : .noAnswer(attempts: attempts, lastReason: reason))
        }
        progress.providerSwitches += 1
        providerIndex += 1
        if providerIndex % providers.count == 0 {
            phase = .backingOff
            progress.phase = .requesting
            arm(at: now + configuration.retryBackoff)
        } else {
            startStream()
        }
    }

    /// Ends the backup without a snapshot; the provider streaming now (if it has a session: not
    /// when it just refused) is told, so it frees its snapshot.
    private mutating func fail(_ failure: SyncBackupFailure, tellProvider: Bool = true) {
        if tellProvider, case let .streaming(stream) = phase {
            send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: stream.provider)
        }
        cancelTimer()
        logger.error("backup failed", metadata: ["error": "\(failure)"])
        end(.failure(failure))
    }

    private mutating func end(_ result: Result<SyncBackupOutcome, SyncBackupFailure>) {
        progress.phase = (try? result.get()) == nil ? .failed : .done
        progress.elapsed = now - started
        phase = .ended
        actions.append(.finished(result.map { outcome in
            var outcome = outcome
            outcome.progress = progress
            return outcome
        }))
    }

    // MARK: Plumbing

    private mutating func send(_ message: MMonSync, to destination: TransportAddress) {
        actions.append(.send(message, to: destination))
    }

    private mutating func arm(at deadline: Duration) {
        timerGeneration += 1
        armed = true
        actions.append(.arm(at: deadline, generation: timerGeneration))
    }

    private mutating func cancelTimer() {
        guard armed else { return }
        armed = false
        actions.append(.cancelTimer)
    }
}
