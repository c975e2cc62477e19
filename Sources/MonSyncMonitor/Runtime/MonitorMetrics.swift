import Metrics
import MonSyncMessages

/// The monitor's swift-metrics instruments (`monsync_monitor_*`, dimension `mon`).
///
/// They follow ``MonitorStatistics`` and the Paxos bounds: ``record(from:to:)``
/// adds what each counter gained, so the statistics stay the single place the
/// code counts things.
struct MonitorMetrics: Sendable {
    private let bootstraps: Counter
    private let electionsWon: Counter
    private let commits: Counter
    private let trims: Counter
    private let writes: Counter
    private let stale: Counter
    private let impostors: Counter
    private let storeFailures: Counter
    private let firstCommitted: Gauge
    private let lastCommitted: Gauge
    private let state: Gauge

    init(name: String) {
        let dimensions = [("mon", name)]
        bootstraps = Counter(label: "monsync_monitor_bootstraps_total", dimensions: dimensions)
        electionsWon = Counter(label: "monsync_monitor_elections_won_total", dimensions: dimensions)
        commits = Counter(label: "monsync_monitor_paxos_commits_total", dimensions: dimensions)
        trims = Counter(label: "monsync_monitor_paxos_trims_total", dimensions: dimensions)
        writes = Counter(label: "monsync_monitor_client_writes_committed_total", dimensions: dimensions)
        stale = Counter(label: "monsync_monitor_stale_messages_total", dimensions: dimensions)
        impostors = Counter(label: "monsync_monitor_impostor_messages_total", dimensions: dimensions)
        storeFailures = Counter(label: "monsync_monitor_store_failures_total", dimensions: dimensions)
        firstCommitted = Gauge(label: "monsync_monitor_paxos_first_committed", dimensions: dimensions)
        lastCommitted = Gauge(label: "monsync_monitor_paxos_last_committed", dimensions: dimensions)
        state = Gauge(label: "monsync_monitor_state", dimensions: dimensions)
    }

    func record(from old: MonitorStatistics, to new: MonitorStatistics) {
        func add(_ counter: Counter, _ before: Int, _ after: Int) {
            if after > before { counter.increment(by: after - before) }
        }
        add(bootstraps, old.bootstraps, new.bootstraps)
        add(electionsWon, old.electionsWon, new.electionsWon)
        add(commits, old.commits, new.commits)
        add(trims, old.trimsProposed, new.trimsProposed)
        add(writes, old.writesCommitted, new.writesCommitted)
        add(stale, old.staleMessages, new.staleMessages)
        add(impostors, old.impostorMessages, new.impostorMessages)
        add(storeFailures, old.storeFailures, new.storeFailures)
    }

    func record(firstCommitted first: UInt64, lastCommitted last: UInt64) {
        firstCommitted.record(Int64(clamping: first))
        lastCommitted.record(Int64(clamping: last))
    }

    func record(state value: MonitorState) { state.record(Int(value.rawValue)) }
}
