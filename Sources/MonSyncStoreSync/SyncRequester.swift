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
    }

    private let store: any MonitorStore
    private let configuration: SyncConfiguration
    private let timebase: Timebase
    private let logger: Logger
    private let mailbox: SyncMailbox<Event>
    private let state: LockedState<(progress: SyncProgress, rng: SeededRandomNumberGenerator)>

    /// - Parameter seed: seeds the session ids, so a run is reproducible.
    public init(store: any MonitorStore, configuration: SyncConfiguration, timebase: Timebase, seed: UInt64,
                logger: Logger = Logger(label: "monsync.sync.requester")) {
        self.store = store
        self.configuration = configuration
        self.timebase = timebase
        self.logger = logger
        mailbox = SyncMailbox(timebase: timebase, capacity: max(64, configuration.maxWindow * 4))
        state = LockedState((SyncProgress(), SeededRandomNumberGenerator(seed: seed)))
    }

    /// The current progress (for logs and `status`).
    public var progress: SyncProgress { state.withLock { $0.progress } }

    /// CHUNK from a provider: queued for the running sync.
    public func handleChunk(_ message: MMonSync, from sender: TransportAddress) {
        if !mailbox.post(.chunk(message, sender)) { state.withLock { $0.progress.staleMessages += 1 } }
    }

    /// ABORT from a provider: queued for the running sync.
    public func handleAbort(_ message: MMonSync, from sender: TransportAddress) {
        if !mailbox.post(.abort(message, sender)) { state.withLock { $0.progress.staleMessages += 1 } }
    }

    /// Copies the `targets` prefixes from `providers` (tried in order, then round again) and swaps the copy in.
    ///
    /// - Throws: ``SyncFailure``; the staging area is abandoned and live data is unchanged.
    public func synchronize(targets: [String], from providers: [MonitorEntity], dispatcher: Dispatcher) async throws(SyncFailure) -> SyncOutcome {
        let addresses = providers.compactMap { try? TransportAddress($0.address) }
        guard !addresses.isEmpty else { throw .noProvider }
        let started = timebase.now
        let session = state.withLock { state -> UInt64 in
            let session = state.rng.next() | 1
            state.progress = SyncProgress()
            state.progress.session = session
            state.progress.phase = .streaming
            return session
        }
        do {
            try store.beginStaging(targets: targets)
            let floor = try store.lastCommittedFloor()
            var copy = CopyState()
            var providerIndex = 0
            var lastFailure = ""
            while !(copy.finalVersion != nil) {
                let provider = addresses[providerIndex % addresses.count]
                update { $0.provider = provider.description }
                if let failure = try await stream(from: provider, session: session, floor: floor, copy: &copy, started: started, dispatcher: dispatcher) {
                    lastFailure = failure
                    let switches = update { progress -> Int in
                        progress.providerSwitches += 1
                        return progress.providerSwitches
                    }
                    logger.warning("switching provider", metadata: ["from": "\(provider)", "reason": "\(failure)", "switches": "\(switches)"])
                    try? await dispatcher.send(MMonSync(op: .abort, session: session, reason: .requesterAborted), to: provider)
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
        let request = MMonSync(op: .startChunks, lastKey: copy.position, session: session,
                               requesterVersion: copy.baseVersion ?? 0, window: UInt32(configuration.window))
        do { try await dispatcher.send(request, to: provider) } catch { return "cannot reach provider: \(error)" }
        var expected: UInt64 = 1
        while true {
            try Task.checkCancellation()
            guard let event = await mailbox.next(timeout: configuration.chunkTimeout) else {
                return "no chunk for \(configuration.chunkTimeout)"
            }
            switch event {
            case let .abort(message, sender):
                guard sender == provider, message.session == session else { countStale(); continue }
                update { $0.aborts += 1 }
                if message.flags.contains(.retry) { update { $0.retries += 1 } }
                return "provider refused: \(message.reason)"
            case let .chunk(message, sender):
                guard sender == provider, message.session == session, message.sequence >= expected else { countStale(); continue }
                if message.sequence > expected { return "chunk \(expected) lost (got \(message.sequence))" }
                guard message.flags.contains(.crc), CRC32C.checksum(message.chunk) == message.crc else {
                    update { $0.corruptChunks += 1 }
                    return "chunk \(message.sequence) failed its CRC32C"
                }
                if message.version < floor { return "provider at version \(message.version) is below our floor \(floor)" }
                let transaction: StoreTransaction
                do { transaction = try StoreTransaction(decoding: message.chunk) } catch {
                    update { $0.corruptChunks += 1 }
                    return "chunk \(message.sequence) does not decode: \(error)"
                }
                try store.stage(transaction)
                let base = copy.baseVersion ?? message.version
                copy.baseVersion = base
                if message.version > base { collectReplay(transaction, above: base, into: &copy.replay) }
                copy.position = max(copy.position, message.lastKey)
                let keys = UInt64(transaction.count)
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
                if last {
                    copy.finalVersion = message.version
                    copy.firstCommitted = message.firstCommitted
                    return nil
                }
            }
        }
    }

    private func collectReplay(_ transaction: StoreTransaction, above base: UInt64, into replay: inout [UInt64: [UInt8]]) {
        for operation in transaction.operations {
            guard case let .put(prefix, key, value) = operation, prefix == PaxosLog.prefix,
                  let version = UInt64(key), version > base else { continue }
            replay[version] = Array(value)
        }
    }

    private func countStale() { update { $0.staleMessages += 1 } }

    @discardableResult
    private func update<R>(_ body: (inout SyncProgress) -> R) -> R { state.withLock { body(&$0.progress) } }
}
