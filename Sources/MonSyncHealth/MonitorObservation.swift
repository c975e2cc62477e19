public import MonSyncMessages

/// What one monitor said about itself when asked for its status — or that it did not answer.
public struct MonitorObservation: Sendable, Hashable {
    /// Its name (from its own reply, or the monmap when it did not answer; `?` when unknown).
    public var name: String
    /// Its rank in the cluster's monmap, when known.
    public var rank: Int32?
    /// The address it was asked at.
    public var address: String
    /// Its status (with the sync section and vitals when it reports them); `nil`: no answer.
    public var status: MonitorStatus?
    /// The epoch of the monmap it runs with (0: not reported).
    public var monmapEpoch: UInt32
    /// The members of its monmap (empty: not reported).
    public var monmap: [MonitorEntity]

    /// An observation.
    public init(name: String, rank: Int32?, address: String, status: MonitorStatus?, monmapEpoch: UInt32 = 0,
                monmap: [MonitorEntity] = []) {
        self.name = name
        self.rank = rank
        self.address = address
        self.status = status
        self.monmapEpoch = monmapEpoch
        self.monmap = monmap
    }

    /// Whether it answered.
    public var answered: Bool { status != nil }

    /// Whether it answered as a member of a quorum (leader or peon).
    public var inQuorum: Bool {
        guard let status else { return false }
        return (status.state == .leader || status.state == .peon) && !status.quorum.isEmpty
    }
}
