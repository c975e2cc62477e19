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

    /// Estimated time left while streaming, when the provider gave a size (none once the copy is done).
    public var eta: Duration? {
        guard phase == .streaming, estimatedBytes > bytes, rate > 0 else { return nil }
        return .milliseconds(Int64(Double(estimatedBytes - bytes) / rate * 1000))
    }

    /// `streaming session 42 from tcp://…: 120 chunks, 3000 keys, 1048576 bytes of ~2097152 in 2.500 s, 409.6 KiB/s, eta 2.500 s, …`
    public var description: String {
        var text = "\(phase) session \(session) from \(provider): \(chunks) chunks, \(keys) keys, \(bytes) bytes"
        if estimatedBytes > 0 { text += " of ~\(estimatedBytes)" }
        text += " in \(Self.seconds(elapsed))"
        if rate > 0 { text += ", \(Self.perSecond(rate))" }
        if let eta { text += ", eta \(Self.seconds(eta))" }
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
