/// What one seed's simulation found.
public struct SimulationResult: Sendable {
    /// The seed that replays it.
    public var seed: UInt64
    /// Events handled.
    public var steps: Int
    /// Client operations invoked, and those answered (the rest timed out: outcome unknown).
    public var operations: Int
    public var acknowledged: Int
    /// Paxos versions committed.
    public var commits: Int
    /// Store syncs that swapped a copy in, and syncs that failed (and were retried after a probe).
    public var syncsCompleted: Int
    public var syncsFailed: Int
    /// Writes acknowledged while every monitor rejoined after the heal (syncs included), and how
    /// long that took in simulated nanoseconds: the write load a sync finishes under.
    public var rejoinWrites: Int
    public var rejoinNanoseconds: UInt64
    /// Every checker failure, one sentence each; empty when the run is correct.
    public var violations: [String]
    /// The readable trace (time, monitor, input), when it was recorded.
    public var trace: [String]
}
