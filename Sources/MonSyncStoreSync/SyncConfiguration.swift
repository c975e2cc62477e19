public import MonSyncStore

/// Every timer and limit of the store sync, with Ceph v0.59's defaults where Ceph had one.
///
/// How far the log may grow while syncs hold trim is the monitor's setting
/// (`MonitorConfiguration.trimDisabledMaxVersions`, Ceph's `paxos_trim_disabled_max_versions`):
/// one setting, with one owner, read by the trim and by the sync leader alike.
///
/// | setting | Ceph option | default |
/// |---|---|---|
/// | ``trimTimeout`` | `mon_sync_trim_timeout` | 30 s |
/// | ``trimEnableDelay`` | hard-coded in `C_TrimEnable` | 30 s |
/// | ``providerTimeout`` | `mon_sync_timeout` (provider side) | 30 s |
/// | ``startTimeout`` | 2 × `mon_sync_trim_timeout` | 60 s |
/// | ``startRetryBackoff`` | `mon_sync_backoff_timeout` | 30 s |
/// | ``heartbeatInterval`` | `mon_sync_heartbeat_interval` | 5 s |
/// | ``heartbeatTimeout`` | `mon_sync_heartbeat_timeout` | 30 s |
/// | ``chunkTimeout`` | `mon_sync_timeout` (requester side) | 30 s |
/// | ``maxProviderSwitches`` | `mon_sync_max_retries` | 5 |
/// | ``chunkLimits`` | `mon_sync_max_payload_size` | 1 MiB |
/// | ``window`` | none (Ceph is stop-and-wait: 1) | 8 |
/// | ``maxWindow`` | none | 64 |
/// | ``maxProviderSessions`` | none | 4 |
/// | ``maxBackupSessions`` | none | 2 |
/// | ``startRetryAttempts`` | none (Ceph re-probes forever) | 10 |
/// | ``progressLogInterval`` | none | 5 s |
/// | ``providerByteRate`` | none (TiKV: `snap-max-write-bytes-per-sec`) | 0: unlimited |
public struct SyncConfiguration: Sendable, Hashable {
    /// Leader: a granted requester silent this long (no HEARTBEAT) loses its trim hold.
    public var trimTimeout: Duration = .seconds(30)
    /// Leader: trim resumes this long after the last sync ends, so the synced monitor can catch up through Paxos first.
    public var trimEnableDelay: Duration = .seconds(30)
    /// Provider: a session without an acknowledgement for this long is dropped.
    public var providerTimeout: Duration = .seconds(30)
    /// Requester: how long it waits for START_REPLY before trying again.
    public var startTimeout: Duration = .seconds(60)
    /// Requester: the pause after a RETRY answer before the next START.
    public var startRetryBackoff: Duration = .seconds(30)
    /// Requester: how often it tells the leader it is alive, which renews its grant.
    public var heartbeatInterval: Duration = .seconds(5)
    /// Requester: how long it waits for HEARTBEAT_REPLY before it gives the sync up.
    public var heartbeatTimeout: Duration = .seconds(30)
    /// Requester: how long it waits for the next chunk before it moves to another provider and resumes.
    public var chunkTimeout: Duration = .seconds(30)
    /// Requester: how many times it moves to another provider before the sync fails.
    public var maxProviderSwitches: Int = 5
    /// How large one chunk may grow (a single larger entry still goes alone).
    public var chunkLimits: ChunkLimits = .default
    /// Chunks a provider may have unacknowledged when a stream starts, and the least a requester's
    /// window goes to; 1 reproduces Ceph's stop-and-wait.
    public var window: Int = 8
    /// The largest window: what a provider grants, whatever a requester asks for, and how far a
    /// requester's window grows above ``window`` while round trips show the path has room (it
    /// shrinks back when chunks queue: ``ChunkWindow``). A requester holds at most `maxWindow`
    /// chunks in flight; `maxWindow == window` keeps the window fixed.
    public var maxWindow: Int = 64
    /// Syncs a provider serves at once; more are answered ABORT with RETRY.
    public var maxProviderSessions: Int = 4
    /// Backup streams (`monsync snapshot save`) a provider serves at once, beside its syncs; more are
    /// answered ABORT with RETRY, and 0 refuses every backup.
    public var maxBackupSessions: Int = 2
    /// START attempts a requester makes (each after a RETRY backoff or a start timeout) before giving up.
    public var startRetryAttempts: Int = 10
    /// How often a requester logs its progress (info level) while streaming; `.zero` logs only at the end.
    public var progressLogInterval: Duration = .seconds(5)
    /// The most chunk bytes per second a provider sends, all its sessions together; 0: no limit.
    ///
    /// A sync competes with Paxos for the provider's disk, CPU and network; on a cluster that must
    /// keep its write latency while a monitor catches up, cap the copy (TiKV's
    /// `snap-max-write-bytes-per-sec`; ``maxProviderSessions`` is its `concurrent-send-snap-limit`).
    /// The provider sends a chunk while its budget is positive and pauses until it is again, so
    /// the rate holds over any second to within one chunk.
    public var providerByteRate: Int = 0

    /// Ceph v0.59's defaults (see the table above): set the properties to change them.
    public init() {}
}
