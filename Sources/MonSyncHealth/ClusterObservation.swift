public import MonSyncMessages

/// Everything a health evaluation looks at: the cluster's monmap and what each monitor asked said.
public struct ClusterObservation: Sendable, Hashable {
    /// Whose view this is.
    public enum Scope: Sendable, Hashable {
        /// A client asked every monitor (`monsync health`, `status`): a silent monitor is down.
        case cluster
        /// One monitor's view of itself and its quorum (a node's `/health`): the others were not asked.
        case monitor(String)
    }

    /// The cluster's monmap: the newest one a monitor reported, else the one the asker was given.
    public var members: [MonitorEntity]
    /// That monmap's epoch (0 when no monitor reported one).
    public var monmapEpoch: UInt32
    /// Each monitor asked, answered or not.
    public var monitors: [MonitorObservation]
    /// Whose view.
    public var scope: Scope
    /// The monmap the asker was given, when it names its members (not bare URLs): compared with the cluster's.
    public var expectedMembers: [MonitorEntity]?

    /// An observation.
    public init(members: [MonitorEntity], monmapEpoch: UInt32, monitors: [MonitorObservation], scope: Scope = .cluster,
                expectedMembers: [MonitorEntity]? = nil) {
        self.members = members
        self.monmapEpoch = monmapEpoch
        self.monitors = monitors
        self.scope = scope
        self.expectedMembers = expectedMembers
    }
}
