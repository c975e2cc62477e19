public import Logging
public import MonSyncCore
public import MonSyncStore

/// The Sync Requester's streaming phase: copies the store from providers into the staging area and swaps it in.
///
/// ``synchronize(from:dispatcher:)`` runs one sync to its end. It opens a
/// staging area (writing the durable in-sync marker), asks a provider for
/// chunks after the last key it holds, applies each verified chunk to staging
/// and acknowledges it (cumulatively, with a window of chunks in flight). A
/// provider that stays silent for ``SyncConfiguration/chunkTimeout``, refuses,
/// or sends a chunk that fails its CRC is replaced by the next candidate, which
/// resumes strictly after the last key applied — at most
/// ``SyncConfiguration/maxProviderSwitches`` times. Because the keys may then
/// come from several snapshots, the requester asks each new provider for the
/// Paxos versions since the first snapshot and replays them before the swap,
/// so the copy ends in exactly the state of the last snapshot's version.
/// Live data is not touched until the atomic swap.
///
/// Handlers (``handleChunk(_:from:)``, ``handleAbort(_:from:)``) only queue the
/// message; the sync itself runs in the caller's task.
public final class SyncRequester: Sendable {
    enum Event: Sendable {
        case chunk(MMonSync, TransportAddress)
        case abort(MMonSync, TransportAddress)
        case startReply(MMonSync, TransportAddress)
        case finishReply(MMonSync, TransportAddress)
    }

    struct State {
        var progress = SyncProgress()
        var rng: SeededRandomNumberGenerator
        /// The running sync's session and the version its copy is consistent with, for heartbeats.
        var session: UInt64 = 0
        var baseVersion: UInt64 = 0
        var lastHeartbeatReply: Duration = .zero
        var heartbeatSequence: UInt64 = 0
        var inHeartbeatTimeout = false
        /// When the running (or last) sync started, for a live elapsed time.
        var started: Duration = .zero
    }

    private let store: any MonitorStore
    private let configuration: SyncConfiguration
    private let timebase: Timebase
    private let logger: Logger
    private let mailbox: SyncMailbox<Event>
    private let state: LockedState<State>

    /// - Parameter seed: seeds the session ids, so a run is reproducible.
    public init(store: any MonitorStore, configuration: SyncConfiguration, timebase: Timebase, seed: UInt64,
                logger: Logger = Logger(label: "monsync.sync.requester")) {
        self.store = store
        self.configuration = configuration
        self.timebase = timebase
        self.logger = logger
        mailbox = SyncMailbox(timebase: timebase, capacity: max(64, configuration.maxWindow * 4))
        state = LockedState(State(rng: SeededRandomNumberGenerator(seed: seed)))
    }

    /// The current progress (for logs and `status`); while a sync runs, its elapsed time is up to now.
    public var progress: SyncProgress {
        let now = timebase.now
        return state.withLock { state in
            var progress = state.progress
            switch progress.phase {
            case .requesting, .streaming, .swapping: progress.elapsed = now - state.started
            case .idle, .done, .failed: break
            }
            return progress
        }
    }

    /// CHUNK from a provider: queued for the running sync.
    public func handleChunk(_ message: MMonSync, from sender: TransportAddress) {
        if !mailbox.post(.chunk(message, sender)) { state.withLock { $0.progress.staleMessages += 1 } }
    }

    /// ABORT from a provider or the leader: queued for the running sync.
    public func handleAbort(_ message: MMonSync, from sender: TransportAddress) {
        if !mailbox.post(.abort(message, sender)) { state.withLock { $0.progress.staleMessages += 1 } }
    }

    /// START_REPLY from the leader: queued for the running sync.
    public func handleStartReply(_ message: MMonSync, from sender: TransportAddress) {
        if !mailbox.post(.startReply(message, sender)) { state.withLock { $0.progress.staleMessages += 1 } }
    }

    /// FINISH_REPLY from the leader: queued for the running sync.
    public func handleFinishReply(_ message: MMonSync, from sender: TransportAddress) {
        if !mailbox.post(.finishReply(message, sender)) { state.withLock { $0.progress.staleMessages += 1 } }
    }

    /// HEARTBEAT_REPLY from the leader: the trim hold is alive.
    public func handleHeartbeatReply(_ message: MMonSync, from sender: TransportAddress) {
        state.withLock { state in
            guard message.session == state.session, state.session != 0 else {
                state.progress.staleMessages += 1
                return
            }
            state.lastHeartbeatReply = timebase.now
            state.inHeartbeatTimeout = false
        }
    }

    /// Copies the `targets` prefixes from `providers` (tried in order, then round again) and swaps the copy in.
    ///
    /// - Throws: ``SyncFailure``; the staging area is abandoned and live data is unchanged.
    public func synchronize(targets: [String], from providers: [MonitorEntity], dispatcher: Dispatcher) async throws(SyncFailure) -> SyncOutcome {
        let session = newSession(phase: .streaming)
        let progressLog = Task { await logProgress(session: session) }
        defer { progressLog.cancel() }
        return try await copy(targets: targets, from: providers, session: session, leader: nil, started: timebase.now,
                              dispatcher: dispatcher)
    }

    /// Runs the whole requester side of the protocol: asks the leader for the green light
    /// (START, with RETRY backoff and a start timeout), heartbeats it while copying from the
    /// provider it names (failing over to the quorum it lists), swaps the copy in, and sends
    /// FINISH. A missing FINISH_REPLY never discards the finished copy.
    ///
    /// - Parameter environment: tells who leads now (heartbeats follow a leader change).
    public func synchronize(targets: [String], environment: any SyncRequesterEnvironment,
                            dispatcher: Dispatcher) async throws(SyncFailure) -> SyncOutcome {
        let started = timebase.now
        let session = newSession(phase: .requesting)
        let grant = try await requestGrant(session: session, environment: environment, dispatcher: dispatcher)
        let heartbeats = Task { await heartbeat(session: session, environment: environment, fallback: grant.leader, dispatcher: dispatcher) }
        defer { heartbeats.cancel() }
        let progressLog = Task { await logProgress(session: session) }
        defer { progressLog.cancel() }
        update { $0.phase = .streaming }
        let outcome = try await copy(targets: targets, from: grant.providers, session: session, leader: grant.leader,
                                     started: started, dispatcher: dispatcher)
        heartbeats.cancel()
        await finish(session: session, version: outcome.version, leader: await environment.currentLeader() ?? grant.leader,
                     dispatcher: dispatcher)
        return outcome
    }

    private func copy(targets: [String], from providers: [MonitorEntity], session: UInt64, leader: MonitorEntity?,
                      started: Duration, dispatcher: Dispatcher) async throws(SyncFailure) -> SyncOutcome {
        let addresses = providers.compactMap { try? TransportAddress($0.address) }
        guard !addresses.isEmpty else { throw .noProvider }
        do {
            try store.beginStaging(targets: targets)
            let floor = try store.lastCommittedFloor()
            var copy = CopyState()
            var providerIndex = 0
            var lastFailure = ""
            /// ABORTs on their way to abandoned providers (see below).
            var pendingAborts: [TransportAddress: Task<Void, Never>] = [:]
            defer { for abort in pendingAborts.values { abort.cancel() } }
            while !(copy.finalVersion != nil) {
                let provider = addresses[providerIndex % addresses.count]
                // Our ABORT to this provider must reach it before the new START_CHUNKS of the same session.
                await pendingAborts.removeValue(forKey: provider)?.value
                update { $0.provider = provider.description }
                if let failure = try await stream(from: provider, session: session, floor: floor, copy: &copy, started: started, dispatcher: dispatcher) {
                    lastFailure = failure
                    let switches = update { progress -> Int in
                        progress.providerSwitches += 1
                        return progress.providerSwitches
                    }
                    logger.warning("switching provider", metadata: ["from": "\(provider)", "reason": "\(failure)", "switches": "\(switches)"])
                    // Not awaited here: a dead provider's transport may hold a send until its timeout (ZeroMQ:
                    // seconds), and the failover to another provider must not wait on the one it leaves.
                    pendingAborts[provider] = Task {
                        try? await dispatcher.send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: provider)
                    }
                    if switches > configuration.maxProviderSwitches { throw SyncFailure.tooManyProviderSwitches(lastReason: lastFailure) }
                    providerIndex += 1
                }
            }
            update { $0.phase = .swapping }
            let finish = try copy.rollForwardTransaction()
            try store.commitStaging(applying: finish)
            let progress = update { progress -> SyncProgress in
                progress.phase = .done
                progress.elapsed = timebase.now - started
                return progress
            }
            logger.info("sync complete", metadata: ["version": "\(copy.finalVersion!)", "progress": "\(progress)"])
            return SyncOutcome(version: copy.finalVersion!, firstCommitted: copy.firstCommitted, progress: progress)
        } catch {
            update { $0.phase = .failed }
            try? store.abandonStaging()
            switch error {
            case let failure as SyncFailure: throw failure
            case let storeError as StoreError: throw .store(storeError)
            case is CancellationError: throw .cancelled
            default: throw .store(.backend(String(describing: error)))
            }
        }
    }

    /// What has been copied so far, across providers.
    struct CopyState {
        var position = SyncKey.beginning
        /// The snapshot version of the first data received: everything copied is consistent with it or later.
        var baseVersion: UInt64?
        var replay: [UInt64: [UInt8]] = [:]
        var finalVersion: UInt64?
        var firstCommitted: UInt64 = 0
        /// The first chunk number of the next stream. Streams never reuse numbers, so a chunk still in
        /// flight from an abandoned stream (even from the same provider) is recognised as stale.
        var nextSequence: UInt64 = 1

        /// The versions after the base, then the Paxos bounds, applied right after the swap.
        func rollForwardTransaction() throws(SyncFailure) -> StoreTransaction {
            var transaction = StoreTransaction()
            guard let final = finalVersion else { return transaction }
            if let base = baseVersion, final > base {
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

    /// Streams from one provider until the last chunk (returns nil) or a failure that calls for another provider.
    private func stream(from provider: TransportAddress, session: UInt64, floor: UInt64, copy: inout CopyState,
                        started: Duration, dispatcher: Dispatcher) async throws -> String? {
        let first = copy.nextSequence
        let request = MMonSync(op: .startChunks, lastKey: copy.position, session: session, sequence: first,
                               requesterVersion: copy.baseVersion ?? 0, window: UInt32(configuration.window))
        // Whatever happens to this stream, the next one numbers its chunks beyond any this one may send.
        defer { copy.nextSequence = max(copy.nextSequence, first) + UInt64(max(configuration.window, configuration.maxWindow)) + 1 }
        do { try await dispatcher.send(request, to: provider) } catch { return "cannot reach provider: \(error)" }
        var expected = first
        while true {
            try Task.checkCancellation()
            guard let event = await mailbox.next(timeout: configuration.chunkTimeout) else {
                try Task.checkCancellation()  // the wait ended because the sync is being stopped
                return "no chunk for \(configuration.chunkTimeout)"
            }
            switch event {
            case let .abort(message, sender):
                guard message.session == session else { countStale(); continue }
                if message.reason == .trimRequired {
                    // The leader can no longer hold trim for us: the copy could not be rolled forward.
                    update { $0.aborts += 1 }
                    throw SyncFailure.abortedByLeader(message.reason)
                }
                guard sender == provider else { countStale(); continue }
                update { $0.aborts += 1 }
                if message.flags.contains(.retry) { update { $0.retries += 1 } }
                return "provider refused: \(message.reason)"
            case .startReply, .finishReply:
                countStale()
            case let .chunk(message, sender):
                guard sender == provider, message.session == session, message.sequence >= expected else { countStale(); continue }
                if message.sequence > expected { return "chunk \(expected) lost (got \(message.sequence))" }
                guard message.flags.contains(.crc), CRC32C.checksum(message.chunk) == message.crc else {
                    update { $0.corruptChunks += 1 }
                    return "chunk \(message.sequence) failed its CRC32C"
                }
                if message.version < floor { return "provider at version \(message.version) is below our floor \(floor)" }
                // Staged in its encoding: the store reads keys and values in place.
                let chunk: EncodedTransaction
                do { chunk = try EncodedTransaction(message.chunk) } catch {
                    update { $0.corruptChunks += 1 }
                    return "chunk \(message.sequence) does not decode: \(error)"
                }
                let keys = UInt64(try store.stage(encoded: chunk))
                let base = copy.baseVersion ?? message.version
                if copy.baseVersion == nil { state.withLock { $0.baseVersion = base } }
                copy.baseVersion = base
                if message.version > base { try collectReplay(chunk, above: base, into: &copy.replay) }
                copy.position = max(copy.position, message.lastKey)
                update { progress in
                    progress.chunks += 1
                    progress.keys += keys
                    progress.bytes += UInt64(message.chunk.count)
                    progress.estimatedBytes = message.estimatedBytes
                    progress.elapsed = timebase.now - started
                }
                let last = message.flags.contains(.last)
                let ack = MMonSync(op: .chunkReply, flags: last ? .last : [], session: session, sequence: message.sequence)
                do { try await dispatcher.send(ack, to: provider) } catch {
                    if !last { return "cannot acknowledge: \(error)" }
                }
                expected += 1
                copy.nextSequence = expected
                if last {
                    copy.finalVersion = message.version
                    copy.firstCommitted = message.firstCommitted
                    return nil
                }
            }
        }
    }

    /// Keeps the Paxos versions above `base` that a chunk carries, to roll the copy forward at the end.
    private func collectReplay(_ chunk: EncodedTransaction, above base: UInt64, into replay: inout [UInt64: [UInt8]]) throws(StoreError) {
        let paxos = Array(PaxosLog.prefix.utf8)
        try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
            guard operation.type == StoreTransaction.OperationType.put, operation.prefix.elementsEqual(paxos),
                  let version = UInt64(String(decoding: operation.key, as: UTF8.self)), version > base else { return }
            replay[version] = Array(operation.value)
        }
    }

    private func countStale() { update { $0.staleMessages += 1 } }

    private func newSession(phase: SyncProgress.Phase) -> UInt64 {
        state.withLock { state -> UInt64 in
            let session = state.rng.next() | 1
            state.progress = SyncProgress()
            state.progress.session = session
            state.progress.phase = phase
            state.session = session
            state.baseVersion = 0
            state.lastHeartbeatReply = timebase.now
            state.heartbeatSequence = 0
            state.inHeartbeatTimeout = false
            state.started = timebase.now
            return session
        }
    }

    @discardableResult
    private func update<R>(_ body: (inout SyncProgress) -> R) -> R { state.withLock { body(&$0.progress) } }
}

/// What the requester needs from its monitor: where the leader is now.
public protocol SyncRequesterEnvironment: Sendable {
    /// The leader as this monitor last learned it (from probing), or `nil` when unknown.
    func currentLeader() async -> MonitorEntity?
}

extension SyncRequester {
    struct Grant {
        var leader: MonitorEntity
        var providers: [MonitorEntity]
    }

    /// START until the leader grants the sync: RETRY waits the backoff; silence waits the start timeout.
    func requestGrant(session: UInt64, environment: any SyncRequesterEnvironment,
                      dispatcher: Dispatcher) async throws(SyncFailure) -> Grant {
        let floor = (try? store.lastCommittedFloor()) ?? 0
        var lastReason = "no leader known"
        for attempt in 1...max(1, configuration.startRetryAttempts) {
            if Task.isCancelled { throw .cancelled }
            guard let leader = await environment.currentLeader(), let address = try? TransportAddress(leader.address) else {
                // Nobody to ask: hand back to the monitor, whose probe finds the leader (Ceph re-bootstraps too).
                throw .notGranted(attempts: attempt, lastReason: "no leader known")
            }
            do {
                try await dispatcher.send(MMonSync(op: .start, session: session, requesterVersion: floor), to: address)
            } catch {
                lastReason = "cannot reach the leader: \(error)"
                try await backoff()
                continue
            }
            let deadline = timebase.now + configuration.startTimeout
            waiting: while timebase.now < deadline {
                guard let event = await mailbox.next(timeout: deadline - timebase.now) else { break waiting }
                guard case let .startReply(reply, sender) = event, reply.session == session else {
                    countStale()
                    continue
                }
                if reply.flags.contains(.retry) {
                    update { $0.retries += 1 }
                    lastReason = "RETRY (\(reply.reason))"
                    logger.info("leader asked to retry later", metadata: ["attempt": "\(attempt)", "reason": "\(reply.reason)"])
                    try await backoff()
                    continue
                }
                // The provider is the one named, or the leader itself; the quorum is the failover list.
                let granting = MonitorEntity(rank: leader.rank, name: leader.name, address: "\(sender)")
                var providers = [reply.replyTo ?? granting]
                for member in reply.quorum where !providers.contains(where: { $0.address == member.address }) {
                    providers.append(member)
                }
                logger.info("sync granted", metadata: ["provider": "\(providers[0])", "quorum": "\(reply.quorum.count)"])
                return Grant(leader: granting, providers: providers)
            }
            lastReason = "no START_REPLY within \(configuration.startTimeout)"
        }
        throw .notGranted(attempts: configuration.startRetryAttempts, lastReason: lastReason)
    }

    private func backoff() async throws(SyncFailure) {
        do { try await timebase.sleep(for: configuration.startRetryBackoff) } catch { throw .cancelled }
    }

    /// Sends HEARTBEAT to whoever leads now, every interval, until cancelled; notes a silent leader.
    func heartbeat(session: UInt64, environment: any SyncRequesterEnvironment, fallback: MonitorEntity,
                   dispatcher: Dispatcher) async {
        while !Task.isCancelled {
            let leader = await environment.currentLeader() ?? fallback
            let (sequence, base, silentFor) = state.withLock { state -> (UInt64, UInt64, Duration) in
                state.heartbeatSequence += 1
                return (state.heartbeatSequence, state.baseVersion, timebase.now - state.lastHeartbeatReply)
            }
            if silentFor > configuration.heartbeatTimeout {
                let first = state.withLock { state -> Bool in
                    defer { state.inHeartbeatTimeout = true }
                    return !state.inHeartbeatTimeout
                }
                if first {
                    update { $0.heartbeatTimeouts += 1 }
                    // Not fatal: the data path does not need the leader. Keep streaming and keep
                    // heartbeating whoever leads next, which re-establishes the trim hold.
                    logger.warning("no heartbeat reply from the leader", metadata: ["for": "\(silentFor)", "leader": "\(leader)"])
                }
            }
            if let address = try? TransportAddress(leader.address) {
                try? await dispatcher.send(MMonSync(op: .heartbeat, session: session, sequence: sequence,
                                                    requesterVersion: base), to: address)
            }
            do { try await timebase.sleep(for: configuration.heartbeatInterval) } catch { return }
        }
    }

    /// Logs the progress at info level every ``SyncConfiguration/progressLogInterval`` while
    /// `session` streams, until cancelled (0 turns it off).
    func logProgress(session: UInt64) async {
        guard configuration.progressLogInterval > .zero else { return }
        while !Task.isCancelled {
            do { try await timebase.sleep(for: configuration.progressLogInterval) } catch { return }
            let progress = self.progress
            guard progress.session == session, progress.phase == .streaming else { continue }
            logger.info("sync progress", metadata: ["progress": "\(progress)"])
        }
    }

    /// FINISH to the leader; waits for FINISH_REPLY up to its timeout. The copy is kept either way.
    func finish(session: UInt64, version: UInt64, leader: MonitorEntity, dispatcher: Dispatcher) async {
        guard let address = try? TransportAddress(leader.address) else { return }
        try? await dispatcher.send(MMonSync(op: .finish, version: version, session: session), to: address)
        let deadline = timebase.now + configuration.finishReplyTimeout
        while timebase.now < deadline {
            guard let event = await mailbox.next(timeout: deadline - timebase.now) else { break }
            if case let .finishReply(reply, _) = event, reply.session == session { return }
            countStale()
        }
        update { $0.finishReplyTimeouts += 1 }
        logger.warning("no FINISH_REPLY; keeping the completed copy", metadata: ["leader": "\(leader)"])
    }
}
