public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// What goes into a ``SyncBackupMachine``.
public enum SyncBackupInput: Sendable {
    /// Start the backup: ask the first provider.
    case begin
    /// An MMonSync for the backup client (CHUNK, ABORT) and its sender.
    case message(MMonSync, from: TransportAddress)
    /// The timer armed by ``SyncBackupAction/arm(at:generation:)`` fired; an old generation is ignored.
    case timer(generation: UInt64)
    /// The file refused the chunk of the previous step: it breaks the snapshot format (the provider
    /// sent what a snapshot cannot hold). The actions after it were not executed.
    case chunkRefused(String)
    /// Writing the file failed (disk full, I/O error). The actions after it were not executed.
    case writeFailed(String)
    /// The caller gives the backup up.
    case cancel
}

/// What a ``SyncBackupMachine`` asks its driver to do, in order.
///
/// File actions run before the sends after them: a chunk is written before it is acknowledged.
public enum SyncBackupAction: Sendable, CustomStringConvertible {
    /// Queue `message` for `destination` without waiting.
    case send(MMonSync, to: TransportAddress)
    /// Fire ``SyncBackupInput/timer(generation:)`` at `deadline` (replaces an earlier arming).
    case arm(at: Duration, generation: UInt64)
    /// The timer need not fire any more.
    case cancelTimer
    /// Start the file over for a snapshot at `version` streamed by `provider` (the first chunk of
    /// a stream was accepted; whatever an earlier stream wrote is dropped).
    case beginFile(provider: MonitorEntity, version: UInt64, firstCommitted: UInt64)
    /// Append a verified chunk to the file.
    case write(EncodedTransaction)
    /// The backup ended; nothing follows. On success the driver completes the file.
    case finished(Result<SyncBackupOutcome, SyncBackupFailure>)

    public var description: String {
        switch self {
        case let .send(message, destination): "send(\(message) → \(destination))"
        case let .arm(deadline, generation): "arm(\(deadline) g\(generation))"
        case .cancelTimer: "cancelTimer"
        case let .beginFile(provider, version, firstCommitted): "beginFile(\(provider), v\(version), fc \(firstCommitted))"
        case let .write(chunk): "write(\(chunk.bytes.count) bytes)"
        case let .finished(result): "finished(\(result))"
        }
    }
}

/// A backup that streamed its whole snapshot.
public struct SyncBackupOutcome: Sendable, Hashable {
    /// The monitor that streamed it.
    public var provider: MonitorEntity
    /// The Paxos version the snapshot is the state of.
    public var version: UInt64
    /// The provider's `first_committed` when it took the snapshot.
    public var firstCommitted: UInt64
    /// Volume, rate and what went wrong on the way (the chunks and bytes count the last stream only).
    public var progress: SyncProgress
}

/// Why a backup ended without a snapshot.
public enum SyncBackupFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A monitor refused the backup client's key (role `read` or `write`; a backup needs `backup` or `monitor`).
    case permissionDenied(provider: String)
    /// No monitor sent anything: every stream asked for went unanswered (down, unreachable, keys not
    /// admitted, or a monitor too old to know the BACKUP flag).
    case noAnswer(attempts: Int, lastReason: String)
    /// Monitors answered, but no stream reached its last chunk in `attempts` tries.
    case noProviderServed(attempts: Int, lastReason: String)
    /// The file could not be written.
    case writeFailed(String)
    /// The caller gave the backup up.
    case cancelled

    public var description: String {
        switch self {
        case let .permissionDenied(provider): "\(provider) refused the key: a backup needs a key with role backup (or monitor)"
        case let .noAnswer(attempts, lastReason): "no monitor answered in \(attempts) tries (last: \(lastReason))"
        case let .noProviderServed(attempts, lastReason): "no monitor streamed the whole snapshot in \(attempts) tries (last: \(lastReason))"
        case let .writeFailed(reason): "cannot write the file: \(reason)"
        case .cancelled: "cancelled"
        }
    }
}
