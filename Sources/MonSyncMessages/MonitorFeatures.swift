/// What a monitor's build can do that older builds cannot (Ceph's `mon_feature_t`), as bits of a `u64`.
///
/// Every monitor announces the features it supports in its election messages (``MMonElection``
/// version 2; a version-1 sender supports none). The leader of a quorum that holds the *whole*
/// monmap, every member supporting a feature, commits it through Paxos, with its next proposal of
/// writes, as *required*
/// (`monmap/features`, Ceph's persistent features in the monmap). From then on no monitor lacking
/// it may take part in an election — its proposals are refused (NAK) and its acks ignored — so
/// nothing it cannot read is written before all members can read it, and no such monitor leads
/// afterwards. A required feature is never dropped: downgrading below it is not supported.
public struct MonitorFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64
    /// Features from their bits.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The applied-tid record's *runs* form (PROTOCOL.md §9): a client's record is a few runs of
    /// consecutive tids instead of a list of up to 1024 tids. Written only once required.
    public static let appliedTidRuns = MonitorFeatures(rawValue: 1 << 0)

    /// Every feature this build implements.
    public static let supported: MonitorFeatures = [.appliedTidRuns]

    /// The names of the features this build knows, by bit.
    static let names: [(MonitorFeatures, String)] = [(.appliedTidRuns, "applied-tid-runs")]

    /// The known features by name, and unknown bits in hex: `[applied-tid-runs]`, `[]`.
    public var description: String {
        var parts = Self.names.filter { contains($0.0) }.map(\.1)
        let unknown = rawValue & ~Self.names.reduce(0) { $0 | $1.0.rawValue }
        if unknown != 0 { parts.append("0x" + String(unknown, radix: 16)) }
        return "[" + parts.joined(separator: ", ") + "]"
    }
}
