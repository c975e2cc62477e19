import DequeModule
import MonSyncCore
import MonSyncMessages
import MonSyncStore

/// A store snapshot whose sync chunks are read ahead on a ``SnapshotReader``, so the provider
/// that streams it never reads the store on the monitor's executor.
///
/// The provider asks for the chunk after a position
/// (`StoreSnapshot.readyChunk(after:limits:)`). A chunk read ahead from that position is
/// handed over at once; otherwise the read is queued on the reader, the answer is `nil`, and
/// `ready` is called when the chunk is in (the monitor then steps its machine with
/// ``MonitorInput/syncChunksReady``). Up to ``depth`` chunks are read ahead of the provider, each
/// from where the one before it ended, so a provider streaming steadily always finds its next
/// chunk waiting. The chunks are the same, byte for byte, as `StoreSnapshot.encodedChunk(after:limits:)`
/// reads directly: read-ahead changes when the work is done, never what is sent.
///
/// Memory: at most ``depth`` chunks per snapshot (4 MiB at the default 1 MiB chunks).
final class ReadAheadSnapshot: StoreSnapshot {
    /// Chunks read ahead of the provider, at most.
    static let depth = 4

    let base: any StoreSnapshot
    private let reader: SnapshotReader
    private let ready: @Sendable () -> Void
    private let state = LockedState(State())

    private struct State {
        /// The limits the chunks are cut with (the provider's; a change discards what was read).
        var limits: ChunkLimits?
        /// Chunks read ahead, in order, each with the position it was read after.
        var chunks: Deque<(after: SyncKey, result: Result<EncodedStoreChunk, StoreError>)> = []
        /// The position a queued or running read starts after.
        var reading: SyncKey?
        /// Bumped whenever what was read ahead is discarded: a read of an older generation is dropped.
        var generation: UInt64 = 0
        /// Where the next read ahead starts, or `nil` when the snapshot is read to its end (or failed).
        var next: SyncKey?
        /// The provider asked for a chunk that was not ready: call `ready` when one is.
        var waiting = false
    }

    init(base: any StoreSnapshot, reader: SnapshotReader, ready: @escaping @Sendable () -> Void) {
        self.base = base
        self.reader = reader
        self.ready = ready
    }

    var prefixes: [String] { base.prefixes }
    var estimatedSize: UInt64 { base.estimatedSize }

    func scan(after position: SyncKey, _ visit: (StoreEntryView) throws(StoreError) -> Bool) throws(StoreError) -> Bool {
        try base.scan(after: position, visit)
    }

    func readyChunk(after position: SyncKey, limits: ChunkLimits) throws(StoreError) -> EncodedStoreChunk? {
        let (taken, read) = state.withLock { state -> (Result<EncodedStoreChunk, StoreError>?, Read?) in
            if state.limits != limits || (state.chunks.first.map { $0.after != position } ?? (state.reading != nil && state.reading != position)) {
                // Not what was read ahead (the first call, or a provider that moved elsewhere):
                // start over from `position`.
                state.limits = limits
                state.chunks.removeAll()
                state.reading = nil
                state.generation &+= 1
                state.next = position
            } else if state.chunks.isEmpty && state.reading == nil && state.next != position {
                // Everything read ahead was taken and nothing is being read: continue from here.
                state.next = position
            }
            let taken = state.chunks.popFirst()?.result
            if taken == nil { state.waiting = true }
            return (taken, Self.nextRead(&state))
        }
        if let read { schedule(read) }
        return try taken?.get()
    }

    /// One chunk to read ahead.
    private struct Read {
        var position: SyncKey
        var limits: ChunkLimits
        var generation: UInt64
    }

    /// The read to queue now, if the read-ahead is short of ``depth`` and none is queued.
    private static func nextRead(_ state: inout State) -> Read? {
        guard state.reading == nil, state.chunks.count < depth, let next = state.next, let limits = state.limits else { return nil }
        state.reading = next
        return Read(position: next, limits: limits, generation: state.generation)
    }

    private func schedule(_ read: Read) {
        reader.submit { [weak self] in
            // A snapshot the provider dropped meanwhile is not read (and is released here).
            guard let self else { return }
            let result = Result { () throws(StoreError) -> EncodedStoreChunk in
                try self.base.encodedChunk(after: read.position, limits: read.limits)
            }
            self.finished(read, result)
        }
    }

    private func finished(_ read: Read, _ result: Result<EncodedStoreChunk, StoreError>) {
        let position = read.position
        let (wake, next) = state.withLock { state -> (Bool, Read?) in
            guard read.generation == state.generation, state.reading == position else { return (false, nil) }
            state.reading = nil
            state.chunks.append((position, result))
            switch result {
            case let .success(chunk): state.next = chunk.isComplete ? nil : chunk.lastKey
            case .failure: state.next = nil
            }
            defer { state.waiting = false }
            return (state.waiting, Self.nextRead(&state))
        }
        if let next { schedule(next) }
        if wake { ready() }
    }
}
