import Metrics
import MonSyncCore
import MonSyncMessages
import MonSyncStoreSync

/// The monitor's swift-metrics instruments (`monsync_monitor_*` and the sync leader's and
/// provider's `monsync_sync_*`, dimension `mon`); docs/METRICS.md lists them.
///
/// They follow ``MonitorStatistics``, the sync roles' statistics and the Paxos bounds:
/// ``record(from:to:)`` adds what each counter gained, so the statistics stay the single place
/// the code counts things. What only the shell sees — replies to clients, commit latencies the
/// machine measured, refusals of unauthorized senders — is recorded where the shell handles it.
struct MonitorMetrics: Sendable {
    private let name: String
    private let bootstraps: Counter
    private let electionsStarted: Counter
    private let electionsWon: Counter
    private let commits: Counter
    private let recoveries: Counter
    private let trims: Counter
    private let writes: Counter
    private let forwarded: Counter
    private let leaseRenewals: Counter
    private let leaseExpiries: Counter
    private let storeFailures: Counter
    private let firstCommitted: Gauge
    private let lastCommitted: Gauge
    private let electionEpoch: Gauge
    private let state: Gauge
    private let inQuorum: Gauge
    private let quorumSize: Gauge
    private let commitDuration: Timer
    private let stepDuration: Timer
    private let slowSteps: Counter
    private let refusedByKind: [RefusedKind: Counter]
    private let replies = LockedState<[String: Counter]>([:])

    // The sync leader's and provider's counters.
    private let syncGrants: Counter
    private let syncRetryAnswers: Counter
    private let syncTrimTimeouts: Counter
    private let syncLeaderAborts: Counter
    private let syncsRunning: Gauge
    private let syncTrimHeld: Gauge
    private let providerSessions: Counter
    private let providerSessionsCompleted: Counter
    private let providerChunks: Counter
    private let providerBytes: Counter
    private let providerRefusals: Counter
    private let providerSessionsActive: Gauge

    /// Kinds of input the monitor refused, the `kind` of `monsync_monitor_refused_messages_total`.
    enum RefusedKind: String, CaseIterable {
        /// Old epoch, wrong state, not from the leader, …: ignored.
        case stale
        /// A sender that is not the monmap member it claims to be.
        case impostor
        /// A sender whose authenticated key does not allow the message.
        case unauthorized
        /// A client command no monitor would serve (empty key, over the limits): answered, not applied.
        case invalidCommand = "invalid_command"
        /// An election proposal from a monitor that lacks versions this one trimmed.
        case obliviousProposal = "oblivious_proposal"
        /// An election proposal or ack from a monitor whose build lacks a feature the cluster requires.
        case lackingFeatures = "lacking_features"
    }

    init(name: String) {
        self.name = name
        let dimensions = [("mon", name)]
        func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions) }
        func gauge(_ label: String) -> Gauge { Gauge(label: label, dimensions: dimensions) }
        bootstraps = counter("monsync_monitor_bootstraps_total")
        electionsStarted = counter("monsync_monitor_elections_started_total")
        electionsWon = counter("monsync_monitor_elections_won_total")
        commits = counter("monsync_monitor_paxos_commits_total")
        recoveries = counter("monsync_monitor_paxos_recoveries_total")
        trims = counter("monsync_monitor_paxos_trims_total")
        writes = counter("monsync_monitor_client_writes_committed_total")
        forwarded = counter("monsync_monitor_client_commands_forwarded_total")
        leaseRenewals = counter("monsync_monitor_lease_renewals_total")
        leaseExpiries = counter("monsync_monitor_lease_expiries_total")
        storeFailures = counter("monsync_monitor_store_failures_total")
        firstCommitted = gauge("monsync_monitor_paxos_first_committed")
        lastCommitted = gauge("monsync_monitor_paxos_last_committed")
        electionEpoch = gauge("monsync_monitor_election_epoch")
        state = gauge("monsync_monitor_state")
        inQuorum = gauge("monsync_monitor_in_quorum")
        quorumSize = gauge("monsync_monitor_quorum_size")
        commitDuration = Timer(label: "monsync_monitor_paxos_commit_duration_seconds", dimensions: dimensions)
        stepDuration = Timer(label: "monsync_monitor_step_duration_seconds", dimensions: dimensions)
        slowSteps = counter("monsync_monitor_slow_steps_total")
        var refused: [RefusedKind: Counter] = [:]
        for kind in RefusedKind.allCases {
            refused[kind] = Counter(label: "monsync_monitor_refused_messages_total", dimensions: [("mon", name), ("kind", kind.rawValue)])
        }
        refusedByKind = refused
        syncGrants = counter("monsync_sync_leader_grants_total")
        syncRetryAnswers = counter("monsync_sync_leader_retry_answers_total")
        syncTrimTimeouts = counter("monsync_sync_leader_trim_timeouts_total")
        syncLeaderAborts = counter("monsync_sync_leader_aborts_total")
        syncsRunning = gauge("monsync_sync_leader_syncs_running")
        syncTrimHeld = gauge("monsync_sync_leader_trim_held")
        providerSessions = counter("monsync_sync_provider_sessions_total")
        providerSessionsCompleted = counter("monsync_sync_provider_sessions_completed_total")
        providerChunks = counter("monsync_sync_provider_chunks_sent_total")
        providerBytes = counter("monsync_sync_provider_bytes_sent_total")
        providerRefusals = counter("monsync_sync_provider_refusals_total")
        providerSessionsActive = gauge("monsync_sync_provider_sessions_active")
        // Every series exists from the start (at 0), so a rate over it never misses its first increment.
        state.record(Int(MonitorState.probing.rawValue))
        inQuorum.record(0)
        quorumSize.record(0)
    }

    private static func add(_ counter: Counter, _ before: Int, _ after: Int) {
        if after > before { counter.increment(by: after - before) }
    }

    func record(from old: MonitorStatistics, to new: MonitorStatistics) {
        guard old != new else { return }
        Self.add(bootstraps, old.bootstraps, new.bootstraps)
        Self.add(electionsStarted, old.electionsStarted, new.electionsStarted)
        Self.add(electionsWon, old.electionsWon, new.electionsWon)
        Self.add(commits, old.commits, new.commits)
        Self.add(recoveries, old.recoveries, new.recoveries)
        Self.add(trims, old.trimsProposed, new.trimsProposed)
        Self.add(writes, old.writesCommitted, new.writesCommitted)
        Self.add(forwarded, old.commandsForwarded, new.commandsForwarded)
        Self.add(leaseRenewals, old.leaseRenewals, new.leaseRenewals)
        Self.add(leaseExpiries, old.leaseExpiries, new.leaseExpiries)
        Self.add(storeFailures, old.storeFailures, new.storeFailures)
        Self.add(refusedByKind[.stale]!, old.staleMessages, new.staleMessages)
        Self.add(refusedByKind[.impostor]!, old.impostorMessages, new.impostorMessages)
        Self.add(refusedByKind[.invalidCommand]!, old.commandsRefused, new.commandsRefused)
        Self.add(refusedByKind[.obliviousProposal]!, old.obliviousProposals, new.obliviousProposals)
        Self.add(refusedByKind[.lackingFeatures]!, old.electionMessagesLackingFeatures, new.electionMessagesLackingFeatures)
    }

    /// The sync leader's and provider's counters and gauges.
    func record(leader old: SyncLeaderMachine.Statistics, _ new: SyncLeaderMachine.Statistics,
                provider oldProvider: SyncProviderMachine.Statistics, _ newProvider: SyncProviderMachine.Statistics) {
        Self.add(syncGrants, old.accepted, new.accepted)
        Self.add(syncRetryAnswers, old.retried + old.refusedNotLeader, new.retried + new.refusedNotLeader)
        Self.add(syncTrimTimeouts, old.timedOut, new.timedOut)
        Self.add(syncLeaderAborts, old.abortedForTrim, new.abortedForTrim)
        Self.add(providerSessions, oldProvider.sessionsStarted, newProvider.sessionsStarted)
        Self.add(providerSessionsCompleted, oldProvider.sessionsCompleted, newProvider.sessionsCompleted)
        Self.add(providerChunks, oldProvider.chunksSent, newProvider.chunksSent)
        Self.add(providerBytes, oldProvider.bytesSent, newProvider.bytesSent)
        Self.add(providerRefusals, oldProvider.refusedBusy + oldProvider.refusedCannotServe,
                 newProvider.refusedBusy + newProvider.refusedCannotServe)
    }

    /// The sync roles' gauges: syncs the leader holds trim for, whether trim is held, sessions served.
    func record(syncsRunning running: Int, trimHeld: Bool, providerSessions active: Int) {
        syncsRunning.record(running)
        syncTrimHeld.record(trimHeld ? 1 : 0)
        providerSessionsActive.record(active)
    }

    func record(firstCommitted first: UInt64, lastCommitted last: UInt64) {
        firstCommitted.record(Int64(clamping: first))
        lastCommitted.record(Int64(clamping: last))
    }

    /// The state, election epoch and quorum, after a step changed any of them.
    func record(state value: MonitorState, electionEpoch epoch: UInt32, quorum: [Int32]) {
        state.record(Int(value.rawValue))
        electionEpoch.record(Int64(epoch))
        let serving = (value == .leader || value == .peon) && !quorum.isEmpty
        inQuorum.record(serving ? 1 : 0)
        quorumSize.record(serving ? quorum.count : 0)
    }

    /// How long Paxos rounds this monitor led took, from BEGIN to commit.
    func record(commitDurations durations: [Duration]) {
        for duration in durations { commitDuration.recordNanoseconds(duration.nanoseconds) }
    }

    /// One step of the machine with its actions (``Monitor/slowStep`` and longer counted as slow).
    func record(stepDuration duration: Duration, slow: Bool) {
        stepDuration.recordNanoseconds(duration.nanoseconds)
        if slow { slowSteps.increment() }
    }

    /// A reply to a client command, by op and result.
    func record(reply: MMonCommandReply) {
        let key = "\(reply.op)/\(reply.result)"
        let counter = replies.withLock { replies in
            if let counter = replies[key] { return counter }
            let counter = Counter(label: "monsync_monitor_client_requests_total",
                                  dimensions: [("mon", name), ("op", "\(reply.op)"), ("result", "\(reply.result)")])
            replies[key] = counter
            return counter
        }
        counter.increment()
    }

    /// A message refused because its sender's key does not allow it.
    func recordUnauthorized() { refusedByKind[.unauthorized]!.increment() }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
