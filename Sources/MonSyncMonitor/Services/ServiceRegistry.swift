import MonSyncStore

/// The services a monitor runs and the store prefixes each owns.
///
/// Prefixes are validated (non-empty, no NUL, not the protected bookkeeping
/// prefix) and owned by one service only.
public struct ServiceRegistry: Sendable {
    /// The prefix of the monitor's own local bookkeeping (the election epoch); never a sync target.
    public static let bookkeepingPrefix = "monitor"

    /// The registered services, in registration order.
    public private(set) var services: [any MonitorService] = []
    private var owners: [String: String] = [:]

    /// A registry with the Paxos log registered.
    public init() {
        // The Paxos prefix is valid and unowned in an empty registry.
        owners[PaxosLog.prefix] = "paxos"
        services.append(PaxosService())
    }

    /// The registry every monitor starts from: the Paxos log, the key-value service and the monmap
    /// service; its ``syncTargetNames`` are what a store sync copies from any monitor (`kv`,
    /// `kv_clients`, `monmap`, `paxos`) unless more services are registered.
    public static var standard: ServiceRegistry {
        var registry = ServiceRegistry()
        // Fixed, distinct, valid prefixes on a fresh registry: these registrations cannot fail.
        try? registry.register(KeyValueService())
        try? registry.register(MonmapService())
        return registry
    }

    /// Adds `service`.
    ///
    /// - Throws: ``ServiceRegistryError`` if a prefix is invalid, reserved, or already owned.
    public mutating func register(_ service: any MonitorService) throws(ServiceRegistryError) {
        guard !service.prefixes.isEmpty else { throw .noPrefixes(service: service.name) }
        for prefix in service.prefixes {
            do { try StoreLayout.validatePrefix(prefix) } catch { throw .invalidPrefix(prefix, service: service.name) }
            if prefix == StoreLayout.protectedPrefix || prefix == Self.bookkeepingPrefix {
                throw .reservedPrefix(prefix, service: service.name)
            }
            if let owner = owners[prefix] { throw .prefixTaken(prefix, owner: owner, service: service.name) }
        }
        for prefix in service.prefixes { owners[prefix] = service.name }
        services.append(service)
    }

    /// Ceph's `get_sync_targets_names`: every registered prefix, sorted bytewise, derived from the registrations.
    public var syncTargetNames: [String] {
        owners.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The service that owns `prefix`, if any.
    public func owner(of prefix: String) -> String? { owners[prefix] }
}
