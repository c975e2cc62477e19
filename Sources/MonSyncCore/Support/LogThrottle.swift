public import Logging

/// Lets a kind of log line through at most once per key (a sender, say) per interval, and says how
/// many it held back: refused input is counted in full, but logged sparingly.
///
/// Whoever can reach a port can send garbage as fast as the network carries it; a warning per
/// frame turns that into a disk-filling log and buries what an operator needs to see. Each key
/// gets one line per ``interval``; the next line it gets carries the number held back since. The
/// keys kept are bounded (``maximumKeys``): a peer that sends under ever new names shares one
/// overflow key with every other newcomer once the table is full, so the whole attack still
/// makes at most one line per interval for the newcomers.
///
/// A value type with no clock of its own: the caller passes the time (any monotonic reading), so
/// tests drive it deterministically and a state machine can use its own clock.
public struct LogThrottle: Sendable {
    /// The shortest time between two lines of one key.
    public let interval: Duration
    /// The most keys remembered at once.
    public let maximumKeys: Int
    /// The most lines of distinct keys let through per interval; past it, events count toward
    /// the shared ``overflowKey`` (a peer sending under a thousand names makes one line, not a thousand).
    public let maximumLinesPerInterval: Int

    /// The key shared by whatever is past ``maximumKeys`` or ``maximumLinesPerInterval``.
    public static let overflowKey = "(other senders)"

    private struct Entry {
        var lastLogged: Duration
        var heldBack: Int
    }

    private var entries: [String: Entry] = [:]
    private var window: (start: Duration, lines: Int)?

    /// A throttle of one line per key per `interval`, at most `maximumLinesPerInterval` lines per
    /// interval in all, remembering at most `maximumKeys` keys.
    public init(interval: Duration = .seconds(10), maximumKeys: Int = 1024, maximumLinesPerInterval: Int = 20) {
        precondition(maximumKeys >= 1 && maximumLinesPerInterval >= 1, "a throttle lets something through")
        self.interval = interval
        self.maximumKeys = maximumKeys
        self.maximumLinesPerInterval = maximumLinesPerInterval
    }

    /// What to do with one event.
    public enum Verdict: Equatable, Sendable {
        /// Log it; `heldBack` events of its key were not logged since the key's previous line.
        /// `shared`: the key is ``LogThrottle/overflowKey`` — the count covers other senders too.
        case log(heldBack: Int, shared: Bool)
        /// Do not log it (it is counted toward its key's next line).
        case suppress
    }

    /// Decides whether the event of `key` happening at `now` is logged.
    ///
    /// - Parameters:
    ///   - key: what the interval applies to (a sender's address, a sender and a reason).
    ///   - now: a monotonic time; only differences between calls matter.
    /// - Returns: ``Verdict/log(heldBack:shared:)`` at most once per key per interval.
    public mutating func admit(_ key: String, now: Duration) -> Verdict {
        if window.map({ now - $0.start >= interval }) ?? true { window = (now, 0) }
        var key = key
        if entries[key] == nil && entries.count >= maximumKeys {
            forgetQuiet(now: now)
            if entries.count >= maximumKeys { key = Self.overflowKey }
        }
        if let entry = entries[key], now - entry.lastLogged < interval {
            entries[key]!.heldBack += 1
            return .suppress
        }
        if key != Self.overflowKey && window!.lines >= maximumLinesPerInterval {
            // This key may log, but the interval's lines are spent: the event joins the shared count.
            key = Self.overflowKey
            if let entry = entries[key], now - entry.lastLogged < interval {
                entries[key]!.heldBack += 1
                return .suppress
            }
        }
        let heldBack = entries[key]?.heldBack ?? 0
        entries[key] = Entry(lastLogged: now, heldBack: 0)
        if key != Self.overflowKey { window!.lines += 1 }
        return .log(heldBack: heldBack, shared: key == Self.overflowKey)
    }

    /// Logs `message` at `level` if ``admit(_:now:)`` lets the event through, adding to `metadata`
    /// how many events were held back (`not_logged`), and for the shared key, that it is shared.
    public mutating func log(_ logger: Logger, _ level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
                             key: String, now: Duration, metadata: @autoclosure () -> Logger.Metadata = [:]) {
        guard logger.logLevel <= level, case let .log(heldBack, shared) = admit(key, now: now) else { return }
        var metadata = metadata()
        if heldBack > 0 { metadata["not_logged"] = "\(heldBack)" }
        if shared { metadata["throttled"] = "one line per \(interval) for all other senders" }
        logger.log(level: level, message(), metadata: metadata)
    }

    /// The keys remembered now (for tests: the table stays bounded).
    public var rememberedKeys: Int { entries.count }

    /// Forgets the keys whose interval has passed with nothing held back (their next event logs anyway).
    private mutating func forgetQuiet(now: Duration) {
        entries = entries.filter { $0.key == Self.overflowKey || $0.value.heldBack > 0 || now - $0.value.lastLogged < interval }
    }
}

/// A monotonic reading of the process's clock, for ``LogThrottle`` outside a state machine.
public enum MonotonicUptime {
    private static let start = ContinuousClock.now

    /// The time since this process first asked (monotonic).
    public static var now: Duration { ContinuousClock.now - start }
}
