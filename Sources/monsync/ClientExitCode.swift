import ArgumentParser

/// The exit statuses of the client commands (`put`, `get`, `delete`, `list`, `status`, `health`), one per
/// thing a script may want to tell apart (docs/CLI.md, "Exit statuses").
///
/// 64 and 70 are sysexits' `EX_USAGE` (what ArgumentParser uses for a wrong flag) and
/// `EX_SOFTWARE`; the small numbers are MonSync's own, and stable.
enum ClientExitCode: Int32, CaseIterable {
    /// Done: written, read, listed, or (`status`) some monitor is in a quorum.
    case ok = 0
    /// `get`: the key has no value.
    case notFound = 1
    /// Monitors answered but none could serve the command in time (no quorum, no leader ready);
    /// for a write, nothing was applied. `status`: monitors answered, none is in a quorum.
    case noQuorum = 2
    /// No monitor answered in time (a read, `list`, `status`).
    case unreachable = 3
    /// A write got no definite answer in time: it may have been applied. Resend it with the same
    /// `--client-id` and `--tid` to apply it at most once.
    case outcomeUnknown = 4
    /// The monitors refused the command (invalid, too large, a store failure); nothing was applied.
    case refused = 5
    /// `list --limit N` stopped after N keys and more follow (continue with `--after`).
    case incomplete = 6
    /// `health`: HEALTH_WARN — the cluster serves, but a check needs attention (a monitor down, a
    /// sync running, a store filling up).
    case healthWarning = 7
    /// `health`: HEALTH_ERR with a quorum (a store almost full); without a quorum `health` exits 2,
    /// and 3 when no monitor answered.
    case healthError = 8
    /// A wrong flag or argument: a key or value over the limits, a bad monmap; nothing was sent.
    case usage = 64
    /// The client itself failed (it could not listen for replies, …).
    case software = 70

    /// ArgumentParser's way to exit with this status.
    var exitCode: ExitCode { ExitCode(rawValue) }
}
