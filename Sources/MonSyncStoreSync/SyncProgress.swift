public import MonSyncMonitor

/// Where a sync stands, for logs and `status`: volume, rate, ETA and the counters of what went wrong.
public struct SyncProgress: Sendable, Hashable, CustomStringConvertible {
    public var phase: Phase = .idle
    public var session: UInt64 = 0
    public var provider: String = ""
    public var bytes: UInt64 = 0
    public var keys: UInt64 = 0
    public var chunks: UInt64 = 0
    /// The provider's estimate of the snapshot's size (0 when unknown).
    public var estimatedBytes: UInt64 = 0
    /// Time since the sync started.
    public var elapsed: Duration = .zero
    public var providerSwitches = 0
    public var retries = 0
    public var aborts = 0
    public var staleMessages = 0
    public var corruptChunks = 0
    public var heartbeatTimeouts = 0
    public var finishReplyTimeouts = 0

    public enum Phase: String, Sendable, Hashable {
        case idle, requesting, streaming, swapping, done, failed
    }

    public init() {}

    /// Bytes per second so far.
    public var rate: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(bytes) / seconds : 0
    }

    /// Estimated time left, when the provider gave a size.
    public var eta: Duration? {
        guard estimatedBytes > bytes, rate > 0 else { return nil }
        return .milliseconds(Int64(Double(estimatedBytes - bytes) / rate * 1000))
    }

    public var description: String {
        var text = "\(phase) session \(session) from \(provider): \(chunks) chunks, \(keys) keys, \(bytes) bytes in \(elapsed)"
        if rate > 0 { text += ", \(Int(rate / 1_048_576)) MiB/s" }
        if let eta { text += ", eta \(eta)" }
        if providerSwitches > 0 { text += ", \(providerSwitches) provider switch(es)" }
        if corruptChunks > 0 { text += ", \(corruptChunks) corrupt chunk(s)" }
        return text
    }
}

extension SyncProgress {
    /// The progress as `status` carries it (``MonitorSyncStatus/Requester``); counters saturate.
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
