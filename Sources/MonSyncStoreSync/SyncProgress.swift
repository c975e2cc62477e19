/// Where a sync stands, for logs and `status`: volume, rate, ETA and the counters of what went wrong.
public struct SyncProgress: Sendable, Hashable, CustomStringConvertible {
    /// Where the sync stands.
    public var phase: Phase = .idle
    /// The sync's session id (0 before the sync starts).
    public var session: UInt64 = 0
    /// The provider streaming now (or last), as a transport address; empty before the first grant.
    public var provider: String = ""
    /// Bytes of store entries staged so far.
    public var bytes: UInt64 = 0
    /// Keys staged so far.
    public var keys: UInt64 = 0
    /// Chunks staged so far.
    public var chunks: UInt64 = 0
    /// The provider's estimate of the snapshot's size (0 when unknown).
    public var estimatedBytes: UInt64 = 0
    /// The window of unacknowledged chunks the requester asks for now (0 before the first chunk;
    /// see ``ChunkWindow``).
    public var window = 0
    /// Time since the sync started.
    public var elapsed: Duration = .zero
    /// How often the requester moved to another provider (silent, refusing, or with an older snapshot).
    public var providerSwitches = 0
    /// RETRY answers received (from the leader, or a busy provider).
    public var retries = 0
    /// ABORT messages received.
    public var aborts = 0
    /// Messages of another session, or repeated ones, that were dropped.
    public var staleMessages = 0
    /// Chunks refused for a CRC mismatch or an undecodable transaction.
    public var corruptChunks = 0
    /// Heartbeats the leader did not answer in time.
    public var heartbeatTimeouts = 0
    /// FINISH messages the leader did not answer in time.
    public var finishReplyTimeouts = 0

    /// The steps of a sync, in order; it ends in ``done`` or ``failed``.
    public enum Phase: String, Sendable, Hashable {
        /// No sync has started.
        case idle
        /// Asking the leader for a grant (START, until START_REPLY).
        case requesting
        /// Receiving chunks from a provider and staging them.
        case streaming
        /// The last chunk arrived: rolling forward and swapping the copy in atomically.
        case swapping
        /// The copy is live; the monitor rejoins through an election and Paxos recovery.
        case done
        /// The sync gave up; the live data is untouched and the staging area discarded.
        case failed
    }

    /// No sync yet: ``Phase-swift.enum/idle``, every counter zero.
    public init() {}

    /// Bytes per second so far.
    public var rate: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(bytes) / seconds : 0
    }

    /// Estimated time left while streaming, when the provider gave a size (none once the copy is done).
    public var eta: Duration? {
        guard phase == .streaming, estimatedBytes > bytes, rate > 0 else { return nil }
        return .milliseconds(Int64(Double(estimatedBytes - bytes) / rate * 1000))
    }

    /// `streaming session 42 from tcp://…: 120 chunks, 3000 keys, 1048576 bytes of ~2097152 in 2.500 s, 409.6 KiB/s, eta 2.500 s, window 8, …`
    public var description: String {
        var text = "\(phase) session \(session) from \(provider): \(chunks) chunks, \(keys) keys, \(bytes) bytes"
        if estimatedBytes > 0 { text += " of ~\(estimatedBytes)" }
        text += " in \(Self.seconds(elapsed))"
        if rate > 0 { text += ", \(Self.perSecond(rate))" }
        if let eta { text += ", eta \(Self.seconds(eta))" }
        if window > 0 { text += ", window \(window)" }
        for (count, what) in [(providerSwitches, "provider switch(es)"), (retries, "retries"), (aborts, "abort(s)"),
                              (corruptChunks, "corrupt chunk(s)"), (staleMessages, "stale message(s)"),
                              (heartbeatTimeouts, "heartbeat timeout(s)"), (finishReplyTimeouts, "finish-reply timeout(s)")]
        where count > 0 {
            text += ", \(count) \(what)"
        }
        return text
    }

    /// `2.500 s`.
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) s"
    }

    /// `409.6 KiB/s`.
    static func perSecond(_ rate: Double) -> String {
        let units = ["B/s", "KiB/s", "MiB/s", "GiB/s"]
        var value = rate
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}
