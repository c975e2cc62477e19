public import MonSyncCore
public import MonSyncMessages

/// The provider's table of sync sessions, each holding a store snapshot.
///
/// A session pins a consistent snapshot of the sync targets for as long as a
/// requester pulls chunks from it. Sessions end when released, or when idle
/// longer than ``idleTimeout`` (measured on the injected `Timebase`), so a
/// requester that vanished does not pin old data forever. The table is capped
/// at ``maxSessions``.
public final class SnapshotSessions: Sendable {
    /// What the table knows about one open session.
    public struct SessionInfo: Sendable, Hashable {
        /// The session id.
        public var id: UInt64
        /// The prefixes its snapshot covers.
        public var prefixes: [String]
        /// When it was last used, on the table's timebase.
        public var lastUsed: Duration
    }

    private struct Session {
        var snapshot: any StoreSnapshot
        var lastUsed: Duration
    }

    private struct State {
        var sessions: [UInt64: Session] = [:]
        var nextID: UInt64
    }

    private let store: any MonitorStore
    private let state: LockedState<State>
    private let timebase: Timebase
    /// How long a session may stay unused before ``expireIdle()`` ends it.
    public let idleTimeout: Duration
    /// The most sessions open at once.
    public let maxSessions: Int

    /// Creates an empty table over `store`.
    ///
    /// - Parameters:
    ///   - store: the store whose snapshots the sessions read.
    ///   - idleTimeout: idle time after which a session expires (Ceph's sync timeout, 30 s).
    ///   - maxSessions: the cap on concurrent sessions.
    ///   - firstID: the first session id handed out.
    ///   - timebase: the clock that measures idleness.
    public init(store: any MonitorStore, idleTimeout: Duration = .seconds(30), maxSessions: Int = 4, firstID: UInt64 = 1, timebase: Timebase = .continuous) {
        self.store = store
        self.idleTimeout = idleTimeout
        self.maxSessions = max(1, maxSessions)
        self.timebase = timebase
        state = LockedState(State(nextID: firstID))
    }

    /// Opens a session over a fresh snapshot of `prefixes` and returns its id.
    /// - Throws: ``StoreError/tooManySessions(limit:)`` when the table is full.
    public func open(prefixes: [String]) throws(StoreError) -> UInt64 {
        let snapshot = try store.snapshot(of: prefixes)
        let now = timebase.now
        return try state.withLock { (state: inout State) throws(StoreError) -> UInt64 in
            guard state.sessions.count < maxSessions else { throw .tooManySessions(limit: maxSessions) }
            let id = state.nextID
            state.nextID &+= 1
            state.sessions[id] = Session(snapshot: snapshot, lastUsed: now)
            return id
        }
    }

    /// The next chunk of session `id` after `position`; marks the session as used.
    /// - Throws: ``StoreError/unknownSession(_:)`` if the session is not open.
    public func chunk(session id: UInt64, after position: SyncKey, limits: ChunkLimits = .default) throws(StoreError) -> StoreChunk {
        try snapshot(of: id).chunk(after: position, limits: limits)
    }

    /// The snapshot of session `id`; marks the session as used.
    public func snapshot(of id: UInt64) throws(StoreError) -> any StoreSnapshot {
        let now = timebase.now
        return try state.withLock { (state: inout State) throws(StoreError) -> any StoreSnapshot in
            guard state.sessions[id] != nil else { throw .unknownSession(id) }
            state.sessions[id]!.lastUsed = now
            return state.sessions[id]!.snapshot
        }
    }

    /// Ends session `id`, releasing its snapshot. Returns whether it was open.
    @discardableResult
    public func release(_ id: UInt64) -> Bool {
        state.withLock { $0.sessions.removeValue(forKey: id) != nil }
    }

    /// Ends every session idle for at least ``idleTimeout``; returns their ids, sorted.
    @discardableResult
    public func expireIdle() -> [UInt64] {
        let now = timebase.now
        return state.withLock { state in
            let expired = state.sessions.filter { now - $0.value.lastUsed >= idleTimeout }.keys.sorted()
            for id in expired { state.sessions[id] = nil }
            return expired
        }
    }

    /// The open sessions, sorted by id.
    public var sessions: [SessionInfo] {
        state.withLock { state in
            state.sessions.map { SessionInfo(id: $0.key, prefixes: $0.value.snapshot.prefixes, lastUsed: $0.value.lastUsed) }
                .sorted { $0.id < $1.id }
        }
    }

    /// Expires idle sessions every `interval` (default: half the idle timeout) until the task is cancelled.
    public func runExpiry(every interval: Duration? = nil) async {
        let period = interval ?? idleTimeout / 2
        while !Task.isCancelled {
            do { try await timebase.sleep(for: period) } catch { return }
            expireIdle()
        }
    }
}
