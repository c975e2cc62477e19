import MonSyncStore

/// A replicated service of the monitor: it owns store prefixes whose contents change only through Paxos.
///
/// Registering a service with the ``ServiceRegistry`` is what makes its
/// prefixes sync targets: ``ServiceRegistry/syncTargetNames`` (Ceph's
/// `get_sync_targets_names`) is derived from the registrations, so a new
/// service can never be left out of a store sync (Ceph's failure F10).
public protocol MonitorService: Sendable {
    /// The service's name, for logs (`kv`).
    var name: String { get }
    /// The store prefixes the service keeps its replicated state in.
    var prefixes: [String] { get }
}

/// The Paxos log itself, registered like a service so its prefix is a sync target.
public struct PaxosService: MonitorService {
    /// The Paxos log's registration.
    public init() {}
    /// `paxos`.
    public var name: String { "paxos" }
    /// The log's prefix, `paxos`.
    public var prefixes: [String] { [PaxosLog.prefix] }
}
