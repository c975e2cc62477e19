/// When the leader trims the Paxos log, and how far (Ceph v0.67's `should_trim` and `trim`,
/// with v0.59's trim hold for syncs).
///
/// A trim is due once `last_committed - first_committed ≥ paxos_min + paxos_trim_min`;
/// it erases up to `paxos_trim_max` versions, never leaving fewer than
/// `paxos_min` + 1 (`first_committed` becomes at most `last_committed - paxos_min`).
/// While a ``TrimHold`` is held (an external hold: ``Monitor/holdTrim(reason:)``), no trim is due
/// until `trim_disabled_max_versions` more versions were committed since the
/// first hold was taken; after that the log is trimmed anyway, so it cannot
/// grow without bound (Ceph's `paxos_trim_disabled_max_versions`). The store sync's floor —
/// the versions running syncs still need — is applied on top of this target, with the same
/// threshold (`MonitorMachine.syncAwareTrimTarget()`).
public struct TrimPolicy: Sendable, Hashable {
    /// Versions always kept.
    public var paxosMin: UInt64
    /// Extra versions to accumulate before a trim.
    public var paxosTrimMin: UInt64
    /// Most versions one trim erases.
    public var paxosTrimMax: UInt64
    /// Versions that may pass while trim is held before the leader trims anyway.
    public var trimDisabledMaxVersions: UInt64

    /// A policy. `paxosMin` is clamped to at least 1, `paxosTrimMin` and `paxosTrimMax` to at
    /// least 2: a trim is itself a new version, so with 1 the log would stay due forever and
    /// the leader would trim one version per trim without end.
    public init(paxosMin: UInt64, paxosTrimMin: UInt64, paxosTrimMax: UInt64, trimDisabledMaxVersions: UInt64) {
        self.paxosMin = max(1, paxosMin)
        self.paxosTrimMin = max(2, paxosTrimMin)
        self.paxosTrimMax = max(2, paxosTrimMax)
        self.trimDisabledMaxVersions = trimDisabledMaxVersions
    }

    /// The policy of `configuration`.
    public init(_ configuration: MonitorConfiguration) {
        self.init(paxosMin: configuration.paxosMin, paxosTrimMin: configuration.paxosTrimMin,
                  paxosTrimMax: configuration.paxosTrimMax, trimDisabledMaxVersions: configuration.trimDisabledMaxVersions)
    }

    /// Whether enough versions accumulated for a trim, ignoring holds.
    public func isDue(firstCommitted: UInt64, lastCommitted: UInt64) -> Bool {
        firstCommitted >= 1 && lastCommitted >= firstCommitted && lastCommitted - firstCommitted >= paxosMin + paxosTrimMin
    }

    /// The new `first_committed` of the trim to propose now, or `nil` when none is due.
    ///
    /// - Parameters:
    ///   - firstCommitted: the log's `first_committed`.
    ///   - lastCommitted: the log's `last_committed`.
    ///   - heldSince: the `last_committed` when trim was first held, or `nil` when not held.
    public func trimTarget(firstCommitted: UInt64, lastCommitted: UInt64, heldSince: UInt64?) -> UInt64? {
        guard isDue(firstCommitted: firstCommitted, lastCommitted: lastCommitted) else { return nil }
        if let heldSince, lastCommitted < heldSince + trimDisabledMaxVersions { return nil }
        let target = min(lastCommitted - paxosMin, firstCommitted + paxosTrimMax)
        return target > firstCommitted ? target : nil
    }
}
