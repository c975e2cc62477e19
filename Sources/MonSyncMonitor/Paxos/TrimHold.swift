/// A hold on Paxos trimming, taken from outside the monitor by a caller that needs the leader
/// to keep old versions.
///
/// Get one from ``Monitor/holdTrim(reason:)`` and give it back with
/// ``Monitor/releaseTrim(_:)``. While any hold is out, the leader does not trim
/// until ``MonitorConfiguration/trimDisabledMaxVersions`` versions were
/// committed after the first hold (Ceph's `trim_disable` / `trim_enable` and
/// `paxos_trim_disabled_max_versions`). The built-in store sync does not use these: its
/// leader role keeps only the versions each sync still needs (`SyncLeaderMachine/trimFloor`).
public struct TrimHold: Sendable, Hashable, CustomStringConvertible {
    /// Identifies the hold on its monitor.
    public let id: UInt64
    /// Why it was taken, for logs.
    public let reason: String

    public var description: String { "trim hold #\(id) (\(reason))" }
}

/// The trim holds a monitor has handed out.
struct TrimHolds: Sendable {
    private(set) var holds: [UInt64: TrimHold] = [:]
    /// `last_committed` when the first of the current holds was taken.
    private(set) var heldSince: UInt64?
    private var nextID: UInt64 = 1

    mutating func take(reason: String, lastCommitted: UInt64) -> TrimHold {
        let hold = TrimHold(id: nextID, reason: reason)
        nextID += 1
        if holds.isEmpty { heldSince = lastCommitted }
        holds[hold.id] = hold
        return hold
    }

    /// Returns whether the hold was out.
    mutating func release(_ hold: TrimHold) -> Bool {
        guard holds.removeValue(forKey: hold.id) != nil else { return false }
        if holds.isEmpty { heldSince = nil }
        return true
    }
}
