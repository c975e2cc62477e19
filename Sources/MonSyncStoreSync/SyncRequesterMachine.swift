public import Logging
import MonSyncCore
public import MonSyncMessages
import MonSyncStore

/// The Sync Requester as a synchronous state machine: one sync, from START to FINISH.
///
/// The machine makes every decision — when to send START again, which provider to use, whether a
/// chunk is accepted, when to fail over, when to swap — and does no I/O: it returns
/// ``SyncRequesterAction``s (send, arm a timer, stage a chunk, swap, finish) that a driver
/// executes in order. Time comes in with each input; the session id is given by the caller (drawn
/// from a generator that differs across restarts, so a restarted requester never reuses one).
///
/// The conversation:
/// 1. **START** to the leader the probe found; RETRY waits ``SyncConfiguration/startRetryBackoff``,
///    silence waits ``SyncConfiguration/startTimeout``; at most
///    ``SyncConfiguration/startRetryAttempts`` STARTs.
/// 2. On the grant: open the staging area (durable in-sync marker, and the `last_committed` floor
///    raised to this monitor's own), HEARTBEAT every ``SyncConfiguration/heartbeatInterval``, and
///    **START_CHUNKS** to the provider the leader named, failing over along the quorum it listed.
/// 3. Each chunk is accepted only from the current stream's provider, in order, with a good CRC32C,
///    at the stream's one snapshot version, at or above the floor, and — for a stream's first chunk —
///    at or above the highest version already staged (a provider with an older snapshot would mix
///    versions: it is skipped). The chunk deadline moves only when a chunk is accepted.
/// 4. The last chunk: roll the copy forward to the last snapshot's version (the Paxos versions the
///    chunks carried above the first snapshot's), swap it in, send FINISH, and end: the monitor
///    rejoins at once. Finishing is local (Ceph's F3): FINISH only lets the leader release the
///    versions it kept, which its trim timeout does anyway if FINISH is lost, so nobody waits for
///    FINISH_REPLY — a requester whose leader died mid-sync must not stay out of the quorum waiting
///    for an answer from it.
public struct SyncRequesterMachine: Sendable {
    /// The timers a requester arms; each has one deadline at a time.
    public enum Timer: Hashable, Sendable, CustomStringConvertible {
        /// START_REPLY wait, or the back-off after RETRY.
        case start
        /// The deadline for the next chunk of the current stream.
        case chunk
        /// The next HEARTBEAT.
        case heartbeat

        public var description: String {
            switch self {
            case .start: "start"
            case .chunk: "chunk"
            case .heartbeat: "heartbeat"
            }
        }
    }

    /// Where the sync stands.
    enum Phase: Sendable {
        case idle
        /// START `attempt` is out; waiting for START_REPLY until the start timer.
        case requesting(attempt: Int)
        /// RETRY received for START `attempt`; the next goes out when the start timer fires.
        case backingOff(attempt: Int)
        case streaming(ChunkStream)
        case ended
    }

    /// The timers and limits the requester follows.
    public let configuration: SyncConfiguration
    /// The prefixes copied.
    public let targets: [String]
    /// This sync's session id.
    public let session: UInt64
    /// No provider below this version is accepted: this monitor's own `last_committed` when the
    /// sync began, or the stored floor if higher.
    public let floor: UInt64
    /// The monmap members' addresses other than this monitor's: the only peers whose messages count.
    let members: Set<TransportAddress>
    let leader: MonitorEntity?
    /// The peers the probe found ahead, best first: the providers when no leader is known.
    let candidates: [TransportAddress]
    var logger: Logger
    /// Faults re-introduced on purpose, so the simulator's sync checker can be shown to catch them.
    /// Never set outside tests.
    @_spi(Testing) public var mutations: Mutations = []

    var phase: Phase = .idle
    /// The progress so far (its `elapsed` is up to the last input).
    public private(set) var progress = SyncProgress()
    var providers: [TransportAddress] = []
    var providerIndex = 0
    /// Where HEARTBEATs go: the leader first, then the quorum in turn while it stays silent.
    var heartbeatTargets: [TransportAddress] = []
    var heartbeatIndex = 0
    var heartbeatSequence: UInt64 = 0
    var lastHeartbeatReply: Duration = .zero
    var inHeartbeatTimeout = false
    var lastFailure = ""
    var stagingOpen = false
    var copy = CopyState()
    var timers: [Timer: UInt64] = [:]
    var nextGeneration: UInt64 = 0
    var started: Duration = .zero
    var now: Duration = .zero
    var actions: [SyncRequesterAction] = []

    /// A requester that has not started: ``SyncRequesterInput/begin`` starts the sync.
    ///
    /// - Parameters:
    ///   - configuration: the sync's timers and limits.
    ///   - targets: the prefixes to copy (the monitor's sync targets).
    ///   - leader: the leader the probe found.
    ///   - candidates: the peers the probe found ahead of this monitor, best first. Without a
    ///     leader there is no quorum, so nothing is committed or trimmed meanwhile: the copy is
    ///     streamed from them, then from the other members, without a grant (the only way back to
    ///     a majority when this monitor is needed for one). Without a leader and without
    ///     candidates the sync fails at once.
    ///   - memberEntities: the monmap's other members; messages from anyone else are dropped and counted.
    ///   - session: this sync's id, never 0.
    ///   - floor: the lowest snapshot version acceptable (see ``floor``).
    ///   - logger: the base logger.
    public init(configuration: SyncConfiguration, targets: [String], leader: MonitorEntity?,
                candidates: [MonitorEntity] = [], members memberEntities: [MonitorEntity], session: UInt64, floor: UInt64,
                logger: Logger = Logger(label: "monsync.sync.requester")) {
        self.configuration = configuration
        self.targets = targets
        self.leader = leader
        let members = Set(memberEntities.compactMap { try? TransportAddress($0.address) })
        self.members = members
        // The peers found ahead first; then the other members, which refuse (cannot_serve) if they cannot.
        var ordered = candidates.compactMap { try? TransportAddress($0.address) }.filter { members.contains($0) }
        if !ordered.isEmpty {
            ordered += memberEntities.compactMap { try? TransportAddress($0.address) }.filter { !ordered.contains($0) }
        }
        self.candidates = ordered
        self.session = max(1, session)
        self.floor = floor
        self.logger = logger
        progress.session = self.session
    }

    /// Faults the simulator's mutation checks re-introduce (``mutations``).
    @_spi(Testing) public struct Mutations: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// A failover accepts a provider whose snapshot is older than what was staged, and one
        /// below the floor (defect 1: a copy mixing two versions, labelled with the older).
        public static let acceptOlderSnapshots = Mutations(rawValue: 1 << 0)
        /// The copy is not rolled forward: keys from several snapshots stay as they came.
        public static let skipRollForward = Mutations(rawValue: 1 << 1)
    }

    /// Whether the sync has ended (a ``SyncRequesterAction/finished(_:)`` was returned).
    public var hasEnded: Bool {
        if case .ended = phase { return true }
        return false
    }

    // MARK: Stepping

    /// Handles `input` at time `now`; returns what the driver must do, in order.
    ///
    /// A store action that fails ends the list there: the driver feeds ``SyncRequesterInput/storeFailed(_:)``.
    public mutating func step(_ input: SyncRequesterInput, now: Duration) -> [SyncRequesterAction] {
        self.now = max(self.now, now)
        actions = []
        if hasEnded { return [] }
        switch input {
        case .begin:
            begin()
        case let .message(message, sender):
            receive(message, from: sender)
        case let .timer(timer, generation):
            guard timers[timer] == generation else { break }
            timers[timer] = nil
            timerFired(timer)
        case let .storeFailed(error):
            fail(.store(error))
        case .cancel:
            fail(.cancelled)
        }
        if !hasEnded { progress.elapsed = self.now - started }
        defer { actions = [] }
        return actions
    }

    private mutating func begin() {
        guard case .idle = phase else { return }
        started = now
        progress.phase = .requesting
        if leader == nil && !candidates.isEmpty {
            logger.info("no quorum: copying from the peers ahead without a grant", metadata: ["candidates": "\(candidates.count)"])
            return beginStreaming(from: candidates, leader: nil)
        }
        sendStart(attempt: 1)
    }

    private mutating func receive(_ message: MMonSync, from sender: TransportAddress) {
        guard members.contains(sender), message.session == session else { return countStale() }
        switch message.op {
        case .startReply: handleStartReply(message, from: sender)
        case .heartbeatReply:
            lastHeartbeatReply = now
            inHeartbeatTimeout = false
        case .chunk: handleChunk(message, from: sender)
        case .abort: handleAbort(message, from: sender)
        case .start, .heartbeat, .finish, .finishReply, .startChunks, .chunkReply:
            countStale()
        }
    }

    private mutating func timerFired(_ timer: Timer) {
        switch (timer, phase) {
        case let (.start, .requesting(attempt)):
            lastFailure = "no START_REPLY within \(configuration.startTimeout)"
            nextStart(after: attempt)
        case let (.start, .backingOff(attempt)):
            nextStart(after: attempt)
        case (.chunk, .streaming):
            switchProvider(because: "no chunk for \(configuration.chunkTimeout)")
        case (.heartbeat, .streaming):
            heartbeat()
        default:
            break
        }
    }

    // MARK: START

    private mutating func sendStart(attempt: Int) {
        guard let leader, let address = try? TransportAddress(leader.address) else {
            // Nobody to ask: hand back to the monitor, whose probe finds the leader.
            return fail(.notGranted(attempts: attempt, lastReason: "no leader known"))
        }
        phase = .requesting(attempt: attempt)
        send(MMonSync(op: .start, session: session, requesterVersion: floor), to: address)
        arm(.start, at: now + configuration.startTimeout)
    }

    private mutating func nextStart(after attempt: Int) {
        guard attempt < max(1, configuration.startRetryAttempts) else {
            return fail(.notGranted(attempts: attempt, lastReason: lastFailure))
        }
        sendStart(attempt: attempt + 1)
    }

    private mutating func handleStartReply(_ reply: MMonSync, from sender: TransportAddress) {
        guard case let .requesting(attempt) = phase else { return countStale() }
        if reply.flags.contains(.retry) {
            progress.retries += 1
            lastFailure = "RETRY (\(reply.reason))"
            logger.info("leader asked to retry later", metadata: ["attempt": "\(attempt)", "reason": "\(reply.reason)"])
            guard attempt < max(1, configuration.startRetryAttempts) else {
                return fail(.notGranted(attempts: attempt, lastReason: lastFailure))
            }
            phase = .backingOff(attempt: attempt)
            // The next START after the back-off, not after the start timeout.
            arm(.start, at: now + configuration.startRetryBackoff)
            return
        }
        cancel(.start)
        // The provider named (or the granting leader itself), then the quorum to fail over to:
        // monmap members only, never this monitor.
        var providers: [TransportAddress] = []
        for entity in [reply.replyTo].compactMap({ $0 }) + reply.quorum {
            guard let address = try? TransportAddress(entity.address), members.contains(address),
                  !providers.contains(address) else { continue }
            providers.append(address)
        }
        if providers.isEmpty { providers = [sender] }
        logger.info("sync granted", metadata: ["provider": "\(providers[0])", "candidates": "\(providers.count)"])
        beginStreaming(from: providers, leader: sender)
    }

    private mutating func beginStreaming(from providers: [TransportAddress], leader: TransportAddress?) {
        self.providers = providers
        heartbeatTargets = leader.map { leader in [leader] + providers.filter { $0 != leader } } ?? []
        stagingOpen = true
        actions.append(.beginStaging(targets: targets, floor: floor))
        progress.phase = .streaming
        lastHeartbeatReply = now
        heartbeat()
        startStream()
    }

    // MARK: Streaming

    private mutating func startStream() {
        let provider = providers[providerIndex % providers.count]
        let first = copy.nextSequence
        progress.provider = provider.description
        let window = ChunkWindow(initial: configuration.window, ceiling: configuration.maxWindow)
        phase = .streaming(ChunkStream(provider: provider, first: first, window: window))
        send(MMonSync(op: .startChunks, lastKey: copy.position, session: session, sequence: first,
                      requesterVersion: copy.baseVersion ?? 0, window: UInt32(window.initial)), to: provider)
        arm(.chunk, at: now + configuration.chunkTimeout)
    }

    private mutating func handleChunk(_ message: MMonSync, from sender: TransportAddress) {
        guard case var .streaming(stream) = phase else { return countStale() }
        let chunk: EncodedTransaction
        switch stream.check(message, from: sender) {
        case .stale:
            return countStale()
        case let .gap(expected, _):
            return switchProvider(because: "chunk \(expected) lost (got \(message.sequence))")
        case let .corrupt(reason):
            progress.corruptChunks += 1
            return switchProvider(because: reason)
        case let .versionChanged(from, to):
            return switchProvider(because: "snapshot version changed within a stream (v\(from), then v\(to))")
        case let .valid(valid):
            chunk = valid
        }
        if message.version < floor && !mutations.contains(.acceptOlderSnapshots) {
            return switchProvider(because: "snapshot v\(message.version) is below our floor v\(floor)")
        }
        if stream.version == nil, message.version < copy.highestVersion, !mutations.contains(.acceptOlderSnapshots) {
            return switchProvider(because: "snapshot v\(message.version) is older than v\(copy.highestVersion) already staged")
        }
        let base = copy.baseVersion ?? message.version
        copy.baseVersion = base
        if message.version > base {
            do { try Self.collectReplay(chunk, above: base, into: &copy.replay) } catch {
                progress.corruptChunks += 1
                return switchProvider(because: "chunk \(message.sequence): \(error)")
            }
        }
        stream.advance(accepting: message.version, now: now)
        copy.highestVersion = max(copy.highestVersion, message.version)
        copy.position = max(copy.position, message.lastKey)
        copy.nextSequence = stream.expected
        progress.chunks += 1
        progress.keys += UInt64(chunk.count)
        progress.bytes += UInt64(message.chunk.count)
        progress.estimatedBytes = message.estimatedBytes
        let last = message.flags.contains(.last)
        let acknowledgement = stream.acknowledgement(of: message.sequence, session: session, last: last, now: now)
        phase = .streaming(stream)
        progress.window = stream.window.size
        actions.append(.stage(chunk))
        send(acknowledgement, to: sender)
        guard last else {
            // The deadline moves only on progress: stale traffic never keeps a silent provider alive.
            return arm(.chunk, at: now + configuration.chunkTimeout)
        }
        copy.finalVersion = message.version
        copy.firstCommitted = message.firstCommitted
        swap()
    }

    private mutating func handleAbort(_ message: MMonSync, from sender: TransportAddress) {
        if message.reason == .trimRequired {
            // The leader can no longer hold trim for us: the copy could not be rolled forward.
            progress.aborts += 1
            return fail(.abortedByLeader(message.reason))
        }
        guard case let .streaming(stream) = phase, sender == stream.provider else { return countStale() }
        progress.aborts += 1
        if message.flags.contains(.retry) { progress.retries += 1 }
        switchProvider(because: "provider refused: \(message.reason)")
    }

    private mutating func switchProvider(because reason: String) {
        guard case let .streaming(stream) = phase else { return }
        lastFailure = reason
        progress.providerSwitches += 1
        logger.warning("switching provider", metadata: ["from": "\(stream.provider)", "reason": "\(reason)",
                                                        "switches": "\(progress.providerSwitches)"])
        // Queued before any new START_CHUNKS to the same provider (one FIFO queue per destination).
        send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: stream.provider)
        // The next stream numbers its chunks beyond any this one may still send.
        copy.nextSequence = max(copy.nextSequence, stream.first)
            + UInt64(max(configuration.window, configuration.maxWindow)) + 1
        if progress.providerSwitches > configuration.maxProviderSwitches {
            return fail(.tooManyProviderSwitches(lastReason: reason))
        }
        providerIndex += 1
        startStream()
    }

    private mutating func heartbeat() {
        let silentFor = now - lastHeartbeatReply
        if silentFor > configuration.heartbeatTimeout && !inHeartbeatTimeout && !heartbeatTargets.isEmpty {
            inHeartbeatTimeout = true
            progress.heartbeatTimeouts += 1
            // Not fatal: the data path does not need the leader. Keep streaming, and look for
            // whoever leads now, which re-establishes the trim hold.
            logger.warning("no heartbeat reply from the leader", metadata: ["for": "\(silentFor)"])
        }
        if silentFor >= configuration.heartbeatInterval * 2, !heartbeatTargets.isEmpty {
            // The leader may have changed: try the next member (only the leader answers).
            heartbeatIndex = (heartbeatIndex + 1) % heartbeatTargets.count
        }
        guard !heartbeatTargets.isEmpty else { return }  // no grant: no leader to heartbeat
        heartbeatSequence += 1
        send(MMonSync(op: .heartbeat, session: session, sequence: heartbeatSequence,
                      requesterVersion: copy.baseVersion ?? 0), to: heartbeatTargets[heartbeatIndex])
        arm(.heartbeat, at: now + configuration.heartbeatInterval)
    }

    // MARK: Swap and finish

    private mutating func swap() {
        cancel(.chunk)
        cancel(.heartbeat)
        progress.phase = .swapping
        let rollForward: StoreTransaction
        do { rollForward = try copy.rollForwardTransaction(replaying: !mutations.contains(.skipRollForward)) } catch { return fail(error) }
        actions.append(.commitStaging(rollForward))
        stagingOpen = false
        let outcome = SyncOutcome(version: copy.finalVersion ?? 0, firstCommitted: copy.firstCommitted, progress: progress)
        logger.info("sync complete", metadata: ["version": "\(outcome.version)"])
        if !heartbeatTargets.isEmpty {  // without a grant, nobody to tell
            send(MMonSync(op: .finish, version: outcome.version, session: session), to: heartbeatTargets[heartbeatIndex])
        }
        end(.success(outcome))
    }

    private mutating func end(_ result: Result<SyncOutcome, SyncFailure>) {
        for timer in timers.keys.sorted(by: { $0.description < $1.description }) { cancel(timer) }
        switch result {
        case var .success(outcome):
            progress.phase = .done
            progress.elapsed = now - started
            outcome.progress = progress
            phase = .ended
            actions.append(.finished(.success(outcome)))
        case let .failure(failure):
            progress.phase = .failed
            progress.elapsed = now - started
            phase = .ended
            actions.append(.finished(.failure(failure)))
        }
    }

    /// Gives up: the staging area is abandoned (live data untouched), the provider and the leader
    /// are told so they free what they hold for this sync.
    private mutating func fail(_ failure: SyncFailure) {
        if case let .streaming(stream) = phase {
            send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: stream.provider)
        }
        if let leader = heartbeatTargets.first {
            send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: leader)
        }
        if stagingOpen {
            stagingOpen = false
            actions.append(.abandonStaging)
        }
        if case .cancelled = failure {
            logger.info("store sync cancelled; live data unchanged")
        } else {
            logger.error("store sync failed; live data unchanged", metadata: ["error": "\(failure)"])
        }
        end(.failure(failure))
    }

    // MARK: Plumbing

    private mutating func send(_ message: MMonSync, to destination: TransportAddress) {
        actions.append(.send(message, to: destination))
    }

    private mutating func arm(_ timer: Timer, at deadline: Duration) {
        nextGeneration += 1
        timers[timer] = nextGeneration
        actions.append(.arm(timer, at: deadline, generation: nextGeneration))
    }

    private mutating func cancel(_ timer: Timer) {
        guard timers.removeValue(forKey: timer) != nil else { return }
        actions.append(.cancel(timer))
    }

    private mutating func countStale() { progress.staleMessages += 1 }

    /// Keeps the Paxos versions above `base` that a chunk carries, to roll the copy forward at the end.
    static func collectReplay(_ chunk: EncodedTransaction, above base: UInt64,
                              into replay: inout [UInt64: [UInt8]]) throws(StoreError) {
        let paxos = Array(PaxosLog.prefix.utf8)
        try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
            guard operation.type == StoreTransaction.OperationType.put, operation.prefix.elementsEqual(paxos),
                  let version = UInt64(String(decoding: operation.key, as: UTF8.self)), version > base else { return }
            replay[version] = Array(operation.value)
        }
    }
}

extension SyncRequesterMachine {
    /// What has been copied so far, across providers.
    struct CopyState: Sendable {
        var position = SyncKey.beginning
        /// The snapshot version of the first data received: everything copied is consistent with it or later.
        var baseVersion: UInt64?
        /// The newest snapshot version staged so far: the copy never ends below it.
        var highestVersion: UInt64 = 0
        var replay: [UInt64: [UInt8]] = [:]
        var finalVersion: UInt64?
        var firstCommitted: UInt64 = 0
        /// The first chunk number of the next stream. Streams never reuse numbers, so a chunk still in
        /// flight from an abandoned stream (even from the same provider) is recognised as stale.
        var nextSequence: UInt64 = 1

        /// The versions after the base, then the Paxos bounds, applied with the swap.
        func rollForwardTransaction(replaying: Bool = true) throws(SyncFailure) -> StoreTransaction {
            var transaction = StoreTransaction()
            guard let final = finalVersion else { return transaction }
            if replaying, let base = baseVersion, final > base {
                for version in (base + 1)...final {
                    guard let bytes = replay[version], let logged = try? StoreTransaction(decoding: bytes) else {
                        throw .missingVersion(version)
                    }
                    transaction.append(logged)
                }
            }
            transaction.put(PaxosLog.prefix, PaxosLog.lastCommittedKey, uint64: final)
            transaction.put(PaxosLog.prefix, PaxosLog.firstCommittedKey, uint64: firstCommitted)
            return transaction
        }
    }
}
