public import MonSyncStoreSync
public import MonSyncMessages

extension MonitorSyncStatus {
    /// The section of `status` for a monitor's three roles: the requester's current or last sync
    /// (none before the first), the leader's and the provider's counters.
    init(requester progress: SyncProgress?, leader: SyncLeaderMachine, provider: SyncProviderMachine) {
        let leaderStatistics = leader.statistics
        let providerStatistics = provider.statistics
        self.init(
            requester: progress.flatMap { $0.phase == .idle ? nil : $0.statusSection },
            leader: Leader(
                syncsRunning: UInt32(clamping: leader.grants.count), trimHeld: leader.isHoldingTrim,
                granted: UInt64(clamping: leaderStatistics.accepted),
                retryAnswers: UInt64(clamping: leaderStatistics.retried + leaderStatistics.refusedNotLeader),
                trimTimeouts: UInt64(clamping: leaderStatistics.timedOut),
                explicitAborts: UInt64(clamping: leaderStatistics.abortedForTrim)),
            provider: Provider(
                sessionsActive: UInt32(clamping: provider.activeSessions),
                served: UInt64(clamping: providerStatistics.sessionsStarted),
                completed: UInt64(clamping: providerStatistics.sessionsCompleted),
                chunksSent: UInt64(clamping: providerStatistics.chunksSent),
                bytesSent: UInt64(clamping: providerStatistics.bytesSent),
                refusals: UInt64(clamping: providerStatistics.refusedBusy + providerStatistics.refusedCannotServe)))
    }
}

/// The requester's progress as a STATUS reply carries it.
extension SyncProgress {
    /// The progress as `status` carries it (`MonitorSyncStatus.Requester`); counters saturate.
    public var statusSection: MonitorSyncStatus.Requester {
        let phase: MonitorSyncStatus.Phase = switch self.phase {
        case .idle: .idle
        case .requesting: .requesting
        case .streaming: .streaming
        case .swapping: .swapping
        case .done: .done
        case .failed: .failed
        }
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let eta = eta.map { $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 }
        return MonitorSyncStatus.Requester(
            phase: phase, session: session, provider: provider, bytes: bytes, keys: keys, chunks: chunks,
            estimatedBytes: estimatedBytes, elapsedMilliseconds: UInt64(clamping: milliseconds),
            rate: rate.isFinite && rate > 0 ? UInt64(min(rate, Double(UInt64.max / 2))) : 0,
            etaMilliseconds: eta.map { UInt64(clamping: $0) },
            providerSwitches: UInt32(clamping: providerSwitches), retries: UInt32(clamping: retries),
            aborts: UInt32(clamping: aborts), staleMessages: UInt32(clamping: staleMessages),
            corruptChunks: UInt32(clamping: corruptChunks), heartbeatTimeouts: UInt32(clamping: heartbeatTimeouts),
            finishReplyTimeouts: UInt32(clamping: finishReplyTimeouts))
    }
}
