public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// What goes into a ``SyncRequesterMachine``.
public enum SyncRequesterInput: Sendable {
    /// Start the sync: send the first START.
    case begin
    /// An MMonSync for the requester (START_REPLY, HEARTBEAT_REPLY, CHUNK, ABORT, FINISH_REPLY) and its sender.
    case message(MMonSync, from: TransportAddress)
    /// A timer armed by ``SyncRequesterAction/arm(_:at:generation:)`` fired; an old generation is ignored.
    case timer(SyncRequesterMachine.Timer, generation: UInt64)
    /// A store action of the previous step failed; the actions after it were not executed.
    case storeFailed(StoreError)
    /// The monitor stops or gives the sync up.
    case cancel
}

/// What a ``SyncRequesterMachine`` asks its driver to do, in order.
///
/// Store actions run before the sends after them: a chunk is staged before it is acknowledged,
/// the copy is swapped in before FINISH goes out.
public enum SyncRequesterAction: Sendable, CustomStringConvertible {
    /// Queue `message` for `destination` without waiting.
    case send(MMonSync, to: TransportAddress)
    /// Fire ``SyncRequesterInput/timer(_:generation:)`` at `deadline` (replaces an earlier arming).
    case arm(SyncRequesterMachine.Timer, at: Duration, generation: UInt64)
    /// The timer need not fire any more.
    case cancel(SyncRequesterMachine.Timer)
    /// Raise the stored `last_committed` floor to `floor` (never lower it), then open the staging
    /// area for `targets` (the durable in-sync marker).
    case beginStaging(targets: [String], floor: UInt64)
    /// Stage a verified chunk (`MonitorStore.stage(encoded:)`).
    case stage(EncodedTransaction)
    /// Swap the staged copy in atomically, applying `rollForward` with it.
    case commitStaging(StoreTransaction)
    /// Discard the staging area (live data untouched).
    case abandonStaging
    /// The sync ended; nothing follows.
    case finished(Result<SyncOutcome, SyncFailure>)

    public var description: String {
        switch self {
        case let .send(message, destination): "send(\(message) → \(destination))"
        case let .arm(timer, deadline, generation): "arm(\(timer) at \(deadline) g\(generation))"
        case let .cancel(timer): "cancel(\(timer))"
        case let .beginStaging(targets, floor): "beginStaging(\(targets), floor \(floor))"
        case let .stage(chunk): "stage(\(chunk.bytes.count) bytes)"
        case let .commitStaging(transaction): "commitStaging(\(transaction.count) ops)"
        case .abandonStaging: "abandonStaging"
        case let .finished(result): "finished(\(result))"
        }
    }
}

/// Which role an op is for.
extension MMonSync.Op {
    /// Whether the requester's side handles this op (START_REPLY, HEARTBEAT_REPLY, CHUNK,
    /// FINISH_REPLY); the leader and the provider handle the others (ABORT goes to whichever
    /// of the three holds the session it names).
    public var isForRequester: Bool {
        switch self {
        case .startReply, .heartbeatReply, .chunk, .finishReply: true
        case .start, .heartbeat, .finish, .startChunks, .chunkReply, .abort: false
        }
    }
}

extension SyncRequesterAction {
    /// Performs this action on `store` if it is one of the store's (begin staging, stage, swap,
    /// abandon); returns whether it was. The requester's drivers — the monitor's, the simulator's —
    /// share it, so they stage exactly alike.
    ///
    /// A staging area that cannot be discarded is left for the in-sync marker: the next start
    /// discards it. That failure is not thrown, so the ``finished(_:)`` after it still runs.
    public func perform(on store: any MonitorStore) throws(StoreError) -> Bool {
        switch self {
        case let .beginStaging(targets, floor):
            if floor > (try store.lastCommittedFloor()) {
                var transaction = StoreTransaction()
                transaction.setLastCommittedFloor(floor)
                try store.apply(transaction)
            }
            _ = try store.beginStaging(targets: targets)
        case let .stage(chunk):
            _ = try store.stage(encoded: chunk)
        case let .commitStaging(rollForward):
            try store.commitStaging(applying: rollForward)
        case .abandonStaging:
            try? store.abandonStaging()
        case .send, .arm, .cancel, .finished:
            return false
        }
        return true
    }
}
