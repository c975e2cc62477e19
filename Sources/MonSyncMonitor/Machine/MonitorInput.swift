public import MonSyncCore
import MonSyncMessages
public import MonSyncStore

/// What goes into a ``MonitorMachine``: one event, handled to the end in one step.
public enum MonitorInput: Sendable {
    /// The monitor starts (or restarts after a crash): probe the peers.
    case start
    /// A decoded message (`MMonProbe`, `MMonElection`, `MMonPaxos` or `MMonCommand`) and
    /// the transport address it came from. Other message types are counted as stale.
    case message(any WireMessage, from: TransportAddress)
    /// A timer armed by ``MonitorAction/arm(_:at:generation:)`` fired; a generation that is no
    /// longer the armed one is ignored (the timer was cancelled or re-armed meanwhile).
    case timer(MonitorTimer, generation: UInt64)
    /// The shell could not persist a transaction of the previous step: the actions after it
    /// were not executed; the machine reloads what the store holds and probes again.
    case persistFailed(StoreError)
    /// A store sync replaced the store: reload the Paxos state and probe again.
    case syncFinished
    /// Chunks the sync provider's snapshots were reading ahead are ready: send what the windows
    /// allow (`SyncProviderMachine.resumeReadySessions(now:)`).
    case syncChunksReady
    /// A trim hold was given back: a trim that became due is proposed.
    case releaseTrim(TrimHold)
    /// A service proposes `transaction`; the answer is ``MonitorAction/finishProposal(id:_:)``.
    case propose(id: UInt64, StoreTransaction)
    /// The monitor stops: waiting clients and proposals are answered, timers cancelled.
    case stop
}
