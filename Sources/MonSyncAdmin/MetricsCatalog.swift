/// Every metric a MonSync node exports, with its help text: the one list the Prometheus back-end
/// takes help and buckets from, and that docs/METRICS.md mirrors (a test compares them).
///
/// Instruments are created where the code counts things (swift-metrics `Counter`, `Gauge`,
/// `Timer`); a name missing from here is still exported, with a help text saying so.
public enum MetricsCatalog {
    /// Buckets of Paxos round latencies: 1 ms to 10 s.
    static let commitBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Buckets of whole store syncs: 1 s to an hour.
    static let syncBuckets: [Double] = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

    /// The metrics, grouped as docs/METRICS.md groups them.
    public static let all: [MetricDescription] = monitor + paxos + clients + syncRequester + syncLeader + syncProvider
        + transport + zeroMQ + store + health

    static let monitor: [MetricDescription] = [
        .init("monsync_monitor_state", .gauge, labels: ["mon"],
              help: "The monitor's state: 1 probing, 2 synchronizing, 3 electing, 4 leader, 5 peon."),
        .init("monsync_monitor_in_quorum", .gauge, labels: ["mon"], help: "1 while the monitor is a leader or peon of a quorum, else 0."),
        .init("monsync_monitor_quorum_size", .gauge, labels: ["mon"], help: "Monitors in the quorum this monitor belongs to (0 outside one)."),
        .init("monsync_monitor_election_epoch", .gauge, labels: ["mon"], help: "The election epoch (odd while electing)."),
        .init("monsync_monitor_bootstraps_total", .counter, labels: ["mon"], help: "Times the monitor went back to probing."),
        .init("monsync_monitor_elections_started_total", .counter, labels: ["mon"], help: "Elections this monitor started."),
        .init("monsync_monitor_elections_won_total", .counter, labels: ["mon"], help: "Elections this monitor won."),
        .init("monsync_monitor_lease_renewals_total", .counter, labels: ["mon"], help: "Lease rounds started by this monitor as leader."),
        .init("monsync_monitor_lease_expiries_total", .counter, labels: ["mon"],
              help: "Leases that ran out: a peon's lease expired or a leader missed lease acks (each sends the monitor probing)."),
        .init("monsync_monitor_refused_messages_total", .counter, labels: ["mon", "kind"],
              help: "Messages the monitor refused, by kind: stale, impostor, unauthorized, invalid_command, oblivious_proposal, lacking_features."),
        .init("monsync_monitor_store_failures_total", .counter, labels: ["mon"], help: "Store operations that failed."),
        .init("monsync_monitor_step_duration_seconds", .histogram, labels: ["mon"], buckets: commitBuckets,
              help: "Steps of the monitor's machine with the actions they asked for (a synced write, sends): nothing else is answered meanwhile."),
        .init("monsync_monitor_slow_steps_total", .counter, labels: ["mon"],
              help: "Steps that took over 100 ms (each also logged as a warning: slow step)."),
    ]

    static let paxos: [MetricDescription] = [
        .init("monsync_monitor_paxos_commits_total", .counter, labels: ["mon"], help: "Paxos versions committed locally (rounds, shares, recovery)."),
        .init("monsync_monitor_paxos_recoveries_total", .counter, labels: ["mon"], help: "Recoveries (collect rounds) completed as leader."),
        .init("monsync_monitor_paxos_trims_total", .counter, labels: ["mon"], help: "Trims proposed as leader."),
        .init("monsync_monitor_paxos_first_committed", .gauge, labels: ["mon"], help: "The first retained Paxos version."),
        .init("monsync_monitor_paxos_last_committed", .gauge, labels: ["mon"], help: "The last committed Paxos version."),
        .init("monsync_monitor_paxos_commit_duration_seconds", .histogram, labels: ["mon"], buckets: commitBuckets,
              help: "Paxos rounds led by this monitor, from BEGIN to commit."),
    ]

    static let clients: [MetricDescription] = [
        .init("monsync_monitor_client_requests_total", .counter, labels: ["mon", "op", "result"],
              help: "Client commands answered by this monitor, by op and result."),
        .init("monsync_monitor_client_writes_committed_total", .counter, labels: ["mon"], help: "Client writes committed as leader."),
        .init("monsync_monitor_client_commands_forwarded_total", .counter, labels: ["mon"], help: "Client commands forwarded to the leader."),
    ]

    static let syncRequester: [MetricDescription] = [
        .init("monsync_sync_requester_phase", .gauge, labels: ["mon"],
              help: "The requester's sync: 0 idle, 1 requesting, 2 streaming, 3 swapping, 4 done, 5 failed."),
        .init("monsync_sync_requester_bytes_total", .counter, labels: ["mon"], help: "Chunk bytes a syncing monitor received and staged."),
        .init("monsync_sync_requester_keys_total", .counter, labels: ["mon"], help: "Store entries a syncing monitor staged."),
        .init("monsync_sync_requester_chunks_total", .counter, labels: ["mon"], help: "Chunks a syncing monitor staged."),
        .init("monsync_sync_requester_throughput_bytes_per_second", .gauge, labels: ["mon"], help: "The current or last sync's average rate."),
        .init("monsync_sync_requester_estimated_bytes", .gauge, labels: ["mon"], help: "The provider's estimate of the snapshot's size (0 unknown)."),
        .init("monsync_sync_requester_provider_switches_total", .counter, labels: ["mon"], help: "Failovers to another provider."),
        .init("monsync_sync_requester_retries_total", .counter, labels: ["mon"], help: "RETRY answers a requester received."),
        .init("monsync_sync_requester_aborts_total", .counter, labels: ["mon"], help: "ABORTs a requester received."),
        .init("monsync_sync_requester_corrupt_chunks_total", .counter, labels: ["mon"], help: "Chunks that failed their CRC or did not decode."),
        .init("monsync_sync_requester_heartbeat_timeouts_total", .counter, labels: ["mon"], help: "Heartbeats the leader left unanswered."),
        .init("monsync_sync_requester_syncs_total", .counter, labels: ["mon", "result"],
              help: "Store syncs this monitor ran as requester, by result: succeeded, failed, cancelled."),
        .init("monsync_sync_requester_duration_seconds", .histogram, labels: ["mon"], buckets: syncBuckets,
              help: "Store syncs that succeeded, from START to the swap."),
    ]

    static let syncLeader: [MetricDescription] = [
        .init("monsync_sync_leader_grants_total", .counter, labels: ["mon"], help: "Syncs the leader granted (trim held for them)."),
        .init("monsync_sync_leader_retry_answers_total", .counter, labels: ["mon"], help: "START answered RETRY (trim due, or not the leader)."),
        .init("monsync_sync_leader_trim_timeouts_total", .counter, labels: ["mon"], help: "Requesters dropped for missing heartbeats."),
        .init("monsync_sync_leader_aborts_total", .counter, labels: ["mon"], help: "Syncs aborted so that a trim could proceed."),
        .init("monsync_sync_leader_syncs_running", .gauge, labels: ["mon"], help: "Syncs the leader holds trim for now."),
        .init("monsync_sync_leader_trim_held", .gauge, labels: ["mon"], help: "1 while the leader holds Paxos trim for syncs."),
    ]

    static let syncProvider: [MetricDescription] = [
        .init("monsync_sync_provider_sessions_total", .counter, labels: ["mon"], help: "Sync sessions this provider started."),
        .init("monsync_sync_provider_sessions_completed_total", .counter, labels: ["mon"], help: "Sessions whose last chunk was acknowledged."),
        .init("monsync_sync_provider_sessions_active", .gauge, labels: ["mon"], help: "Sessions being served now."),
        .init("monsync_sync_provider_chunks_sent_total", .counter, labels: ["mon"], help: "Chunks sent to requesters."),
        .init("monsync_sync_provider_bytes_sent_total", .counter, labels: ["mon"], help: "Chunk bytes sent to requesters."),
        .init("monsync_sync_provider_refusals_total", .counter, labels: ["mon"], help: "START_CHUNKS refused (busy, or cannot serve)."),
    ]

    static let transport: [MetricDescription] = [
        .init("monsync_dispatch_received_total", .counter, labels: ["node"], help: "Messages received from the transport."),
        .init("monsync_dispatch_received_bytes_total", .counter, labels: ["node"], help: "Bytes of the messages received."),
        .init("monsync_dispatch_sent_total", .counter, labels: ["node"], help: "Messages sent through the transport."),
        .init("monsync_dispatch_sent_bytes_total", .counter, labels: ["node"], help: "Bytes of the messages sent."),
        .init("monsync_dispatch_send_failures_total", .counter, labels: ["node"], help: "Sends the transport failed (peer down, timed out)."),
        .init("monsync_dispatch_dropped_total", .counter, labels: ["node", "reason"],
              help: "Inbound messages dropped before a handler, by reason (a decode error's kind, or unroutable)."),
        .init("monsync_transport_peers_up", .gauge, labels: ["node"], help: "Peers whose connection is up, as the transport reports them."),
    ]

    static let zeroMQ: [MetricDescription] = [
        .init("monsync_zeromq_dropped_messages_total", .counter, labels: ["node", "reason"],
              help: "Inbound messages the ZeroMQ transport dropped itself, by reason: wrong_frame_count, invalid_sender, oversize, unexpected, impersonation."),
        .init("monsync_zeromq_send_failures_total", .counter, labels: ["node", "reason"],
              help: "Sends the ZeroMQ transport failed, by reason: timed_out, unreachable, no_key."),
        .init("monsync_zeromq_keys_refused_total", .counter, labels: ["node"], help: "CURVE handshakes refused: the client's key is not admitted."),
        .init("monsync_zeromq_handshake_failures_total", .counter, labels: ["node"], help: "Inbound connections whose ZMTP handshake failed."),
        .init("monsync_zeromq_inbound_connections_total", .counter, labels: ["node"], help: "Inbound connections accepted."),
        .init("monsync_zeromq_outbound_links", .gauge, labels: ["node"], help: "Outbound connections open now, one per peer sent to."),
    ]

    static let store: [MetricDescription] = [
        .init("monsync_store_size_bytes", .gauge, labels: ["mon"], help: "Bytes of the store's files on disk (at the last scrape)."),
        .init("monsync_store_filesystem_size_bytes", .gauge, labels: ["mon"], help: "The size of the filesystem holding the store."),
        .init("monsync_store_filesystem_available_bytes", .gauge, labels: ["mon"], help: "Bytes left on the store's filesystem."),
    ]

    static let health: [MetricDescription] = [
        .init("monsync_health_status", .gauge, labels: ["mon"],
              help: "The node's health as /health reports it: 0 HEALTH_OK, 1 HEALTH_WARN, 2 HEALTH_ERR."),
        .init("monsync_health_check", .gauge, labels: ["mon", "code"], help: "1 while the named health check is raised on this node, else 0."),
    ]

    private static let byName: [String: MetricDescription] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// The description of the metric `name`, if MonSync exports one by that name.
    public static func description(of name: String) -> MetricDescription? { byName[name] }
}
