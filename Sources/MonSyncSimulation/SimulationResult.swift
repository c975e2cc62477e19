/// What one seed's simulation found.
public struct SimulationResult: Sendable {
    /// The seed that replays it.
    public var seed: UInt64
    /// Events handled.
    public var steps: Int
    /// Client operations invoked.
    public var operations: Int
    /// Client operations answered; the rest timed out, their outcome unknown.
    public var acknowledged: Int
    /// Paxos versions committed.
    public var commits: Int
    /// Store syncs that swapped a copy in.
    public var syncsCompleted: Int
    /// Store syncs that failed (and were retried after a probe).
    public var syncsFailed: Int
    /// Writes acknowledged while every monitor rejoined after the heal (syncs included): the write
    /// load a sync finishes under.
    public var rejoinWrites: Int
    /// How long the monitors took to rejoin after the heal, in simulated nanoseconds.
    public var rejoinNanoseconds: UInt64
    /// Monmap epochs committed through Paxos (membership changes; 0 outside the membership scenario).
    public var monmapChanges: Int
    /// Leaders' commits the checkers left out because the leader's own acceptance of the value was
    /// never persisted: a single member accepted and committed in one step and crashed before that
    /// step's persist ran, so nothing was decided (the value may be proposed anew).
    public var undurableCommitsIgnored: Int
    /// Removed monitors still running at the end that neither know they were removed nor can find
    /// out (every monitor of the map they follow moved or stopped): the liveness checks excuse them
    /// (0 outside the membership scenario).
    public var isolatedOutsiders: Int
    /// Whether any monitor requires `MonitorFeatures` at the end (in the rolling-upgrade scenario:
    /// every member was upgraded and a quorum of them all committed the features).
    public var featuresRequired: Bool
    /// Every checker failure, one sentence each; empty when the run is correct.
    public var violations: [String]
    /// The readable trace (time, monitor, input), when it was recorded.
    public var trace: [String]
}
