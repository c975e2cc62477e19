import MonSyncCore

/// The timers of a monitor; at most one of each kind is armed at a time.
enum MonitorTimer: Hashable, Sendable, CaseIterable {
    /// Probing: no decision within the probe timeout → probe again.
    case probe
    /// Electing: the election did not end in time.
    case election
    /// Leader: not every LAST (collect) or a majority of ACCEPTs arrived in time.
    case paxosRound
    /// Leader: time to extend the lease.
    case leaseRenew
    /// Leader: not every quorum member acked the lease in time.
    case leaseAck
    /// Peon: no lease from the leader in time.
    case leaseTimeout
    /// Leader: the propose interval for batching writes has passed.
    case propose
    /// Synchronizing without a sync delegate: probe again later.
    case syncRetry
}

/// Armed timers: each a task sleeping on the monitor's ``Timebase``, tagged with a generation
/// so a timer cancelled or re-armed after it woke is recognised as stale.
struct TimerTable {
    private var armed: [MonitorTimer: (generation: UInt64, task: Task<Void, Never>)] = [:]
    private var nextGeneration: UInt64 = 0

    func isArmed(_ timer: MonitorTimer) -> Bool { armed[timer] != nil }

    /// Arms `timer`; `fire` runs with the generation when the deadline passes.
    mutating func arm(_ timer: MonitorTimer, deadline: Duration, timebase: Timebase,
                      fire: @escaping @Sendable (UInt64) async -> Void) {
        cancel(timer)
        nextGeneration += 1
        let generation = nextGeneration
        let task = Task {
            do { try await timebase.sleep(until: deadline) } catch { return }
            await fire(generation)
        }
        armed[timer] = (generation, task)
    }

    mutating func cancel(_ timer: MonitorTimer) {
        armed.removeValue(forKey: timer)?.task.cancel()
    }

    mutating func cancelAll() {
        for entry in armed.values { entry.task.cancel() }
        armed.removeAll()
    }

    /// Consumes the firing if `generation` is the armed one.
    mutating func claim(_ timer: MonitorTimer, generation: UInt64) -> Bool {
        guard armed[timer]?.generation == generation else { return false }
        armed[timer] = nil
        return true
    }
}
