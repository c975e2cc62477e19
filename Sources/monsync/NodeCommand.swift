import ArgumentParser
import Foundation
import Logging
import Metrics
import MonSyncAdmin
import MonSyncCore
import MonSyncHealth
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync
import ServiceLifecycle

/// `monsync node`: runs one monitor, with its store and the sync roles, until SIGTERM or SIGINT.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one monitor (with the store sync roles) until SIGTERM or SIGINT.",
        discussion: """
        The transport is chosen by the scheme of this monitor's address in the monmap \
        (tcp://, ipc://, inproc:// over ZeroMQ; loopback:// in-process only). Timer defaults are Ceph's.

        Every option may also come from MONSYNC_NODE_<KEY> or MONSYNC_<KEY> (MONSYNC_LEASE=4), or \
        from the file --config names (JSON, or YAML named .yaml; docs/CLI.md, "Configuration"). Run by systemd with \
        Type=notify, the node sends READY=1 once it listens and STOPPING=1 when it stops \
        (Examples/systemd).

        Example (and the same for b and c):
          monsync node --name a --store /var/lib/monsync/a --config monsync.json
        where monsync.json holds {"monmap": ["a=tcp://10.0.0.1:7001", "b=tcp://10.0.0.2:7001", \
        "c=tcp://10.0.0.3:7001"], "keyring": "keyring", "key": "a.key"}.
        """
    )

    @Option(help: "This monitor's name in the monmap.")
    var name: String

    @OptionGroup(title: "Cluster")
    var cluster: ClusterOptions

    @Option(help: ArgumentHelp("Fetch the monmap from the member at this address instead of --monmap: for a monitor added with `monsync mon add` that starts empty (it then catches up by store sync and joins). With CURVE keys name the member too (NAME=URL), so its key is known. The newest of this map, --monmap and the one the store follows is used.",
                               valueName: "[name=]url"))
    var join: String?

    @Option(help: ArgumentHelp("The store directory (RocksDB, created if missing), or 'memory' for a store that lives only as long as the process.",
                               valueName: "dir|memory"))
    var store: String

    @Option(help: ArgumentHelp("Listen here instead of on this monitor's monmap address, which peers still dial and which stays its identity (Ceph's public_bind_addr): for a NAT, a container's port mapping or a proxy that forwards the monmap address to this one. Same scheme as the monmap address.",
                               valueName: "url"))
    var bindAddress: String?

    @Option(help: "How much to log (to standard error).")
    var logLevel: LogLevelOption = .info

    @Option(help: "How to write the log: text lines, or one JSON object per line.")
    var logFormat: LogFormatOption = .text

    @Option(help: ArgumentHelp("Log the metrics every this many seconds (0: only once, at info level, when the node stops).",
                               valueName: "s"))
    var metricsInterval: Double = 0

    @Option(help: ArgumentHelp("Serve the admin endpoint here over HTTP: GET /metrics (Prometheus) and GET /health (200, or 503 on HEALTH_ERR). Off when absent; port 0 picks a free one (logged).",
                               valueName: "host:port"))
    var adminAddress: String?

    @OptionGroup(title: "Health checks")
    var healthOptions: HealthOptions

    @Option(help: ArgumentHelp("Seconds a graceful shutdown (SIGTERM, SIGINT) may take before the node exits anyway; every write is already durable.",
                               valueName: "s"))
    var shutdownTimeout: Double = 10

    @OptionGroup(title: "Monitor timers and Paxos (Ceph's defaults)")
    var monitorOptions: MonitorTimerOptions

    @OptionGroup(title: "Store sync (Ceph v0.59's defaults where it had one)")
    var syncOptions: SyncOptions

    func validate() throws {
        try monitorOptions.validate()
        try syncOptions.validate()
        guard cluster.monitors.isEmpty else {
            throw ValidationError("a node needs every monitor's name: give the monmap with --monmap or --config (or a member to fetch it from with --join), not --mon.")
        }
        if let join {
            let (member, url) = Self.joinTarget(join)
            if (try? TransportAddress(url)) == nil {
                throw ValidationError("--join needs a member's address as a URL (tcp://HOST:PORT, ipc://PATH), or NAME=URL; got \(join).")
            }
            if member == nil && cluster.security.isSecured {
                throw ValidationError("with --key, give --join as NAME=URL (the member's name, so its key in the keyring is known), e.g. a=\(url).")
            }
        }
        guard shutdownTimeout > 0 && shutdownTimeout <= 3600 else {
            throw ValidationError("--shutdown-timeout must be between 0 and 3600 seconds (got \(shutdownTimeout)).")
        }
        guard metricsInterval >= 0 && metricsInterval <= 86_400 else {
            throw ValidationError("--metrics-interval must be between 0 and 86400 seconds (got \(metricsInterval)).")
        }
        guard !store.isEmpty else { throw ValidationError("--store needs a directory or 'memory'.") }
        if let adminAddress {
            do throws(AdminServerError) { _ = try AdminAddress(parsing: adminAddress) } catch {
                throw ValidationError("--admin-address: \(error)")
            }
        }
    }

    func run() async throws {
        logLevel.bootstrap(format: logFormat)
        let logger = Logger(label: "monsync.node")
        let metrics = PrometheusMetricsBackend(logger: logger)
        MetricsSystem.bootstrap(metrics)
        let storePath = store
        let storeExisted = storePath == "memory" || FileManager.default.fileExists(atPath: storePath)
        let opened = OpenedStore()
        let outcome: Result<Void, any Error>
        do { outcome = .success(try await runNode(storePath: storePath, logger: logger, opened: opened, metrics: metrics)) } catch {
            outcome = .failure(error)
        }
        // Everything that used the store has ended (the monitor stopped, its tasks finished):
        // close it here, once, on this path — not in whichever deinit drops the last reference.
        let closed = await opened.close(within: .seconds(5))
        if !closed {
            logger.warning("the store is still in use after the monitor stopped; exiting without closing it (every write is durable)")
        }
        if case .failure = outcome, closed, !storeExisted {
            // A node that never ran leaves no empty store behind in a directory it created.
            try? FileManager.default.removeItem(atPath: storePath)
        }
        var status: Int32 = 0
        if case let .failure(error) = outcome {
            let message = Self.fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            status = Self.exitCode(for: error).rawValue
        }
        // Never `exit()`: it runs C++ static destructors (RocksDB's environment and thread pools)
        // while other threads may still be inside RocksDB — a stop that crashes now and then.
        // Every write was synced when it was made, so leaving without them loses nothing.
        ProcessExit.now(status)
    }

    private func runNode(storePath: String, logger: Logger, opened: OpenedStore, metrics: PrometheusMetricsBackend) async throws {
        try await UserFacingError.reporting(storePath: storePath) {
            let configured: MonMap
            if let join {
                configured = try await Self.fetchMonmap(from: join, name: name, cluster: cluster, logger: logger)
            } else {
                configured = try cluster.resolve(allowAnonymous: false)
            }
            let store: any MonitorStore = storePath == "memory" ? InMemoryStore() : try RocksDBStore(path: storePath)
            opened.track(store)
            // A store that followed a newer monmap (changes committed while this node ran) wins
            // over the map it was started with.
            let monmap = try MonmapService().newest(configured: configured, in: store)
            if monmap.epoch > configured.epoch {
                logger.info("following the store's newer monmap", metadata: ["epoch": "\(monmap.epoch)", "configured": "\(configured.epoch)"])
            }
            guard let me = monmap.member(named: name), let address = monmap.address(of: me.rank) else {
                throw UserFacingError.notInMonmap(name: name, members: monmap.members.map(\.name))
            }
            var bind: TransportAddress?
            if let bindAddress {
                do throws(TransportError) { bind = try TransportAddress(bindAddress) } catch { throw UserFacingError.from(error) }
            }
            let (registry, keyringReload) = try Transports.secured(logger: logger, cluster: cluster, monmap: monmap, bindAddress: bind)
            let hangup = await HangupHandler(reload: keyringReload, logger: logger)
            let transport = try registry.makeTransport(listeningOn: address)
            // Said once the node listens (a node that cannot start prints only why).
            let plaintext = !cluster.security.isSecured && ["tcp", "ipc"].contains(address.scheme)
            let notice: @Sendable () -> Void = {
                logger.notice("insecure plaintext (--insecure-plaintext): anyone who can reach this port can read, write and sync the store; give --key and --keyring instead (docs/SECURITY.md)")
            }
            let systemd = SystemdNotifier()
            let name = name
            // Ready for systemd (Type=notify) once the monitor listens and runs: not once it is in a
            // quorum, which needs the other monitors, themselves perhaps waiting to be started.
            let started: @Sendable () -> Void = {
                if plaintext { notice() }
                if !systemd.notify(["READY=1", "STATUS=monitor \(name) listening on \(address)"]) {
                    logger.warning("cannot tell systemd the node is ready", metadata: ["NOTIFY_SOCKET": "\(systemd.socketPath ?? "")"])
                }
            }
            var configuration = monitorOptions.configuration
            // Authenticated: the leader could not prove a client's key to answer a write a peon
            // forwarded, so peons send clients to the leader instead (docs/SECURITY.md).
            if cluster.security.isSecured { configuration.forwardsCommands = false }
            let monitor = try Monitor(monmap: monmap, name: name, transport: transport, store: store,
                                      configuration: configuration,
                                      syncConfiguration: syncOptions.configuration, logger: logger)
            logger.debug("node configured", metadata: ["name": "\(name)", "store": "\(storePath)", "monmap": "\(monmap)"])
            if let keyringReload {
                // Monitors present their keys at their monmap addresses: follow membership changes.
                await monitor.observeMonmap { map in keyringReload.monmapChanged(map, logger: logger) }
            }
            let telemetry = NodeTelemetry(monitor: monitor, thresholds: healthOptions.thresholds, backend: metrics)
            // Bound before the monitor starts: a busy admin port stops the node with one sentence.
            var admin: AdminServer?
            if let adminAddress {
                do throws(AdminServerError) {
                    admin = try await AdminServer.bind(AdminAddress(parsing: adminAddress),
                                                       routes: ["/metrics": { await telemetry.metricsResponse() },
                                                                "/health": { await telemetry.healthResponse() }],
                                                       logger: logger)
                } catch {
                    throw UserFacingError.adminEndpointFailed("\(error)")
                }
                logger.notice("admin endpoint listening", metadata: ["address": "\(admin!.boundAddress)",
                                                                     "paths": "/metrics /health"])
            }
            let reporter = metricsInterval > 0 ? Task {
                let clock = ContinuousClock()
                while !Task.isCancelled {
                    do { try await clock.sleep(for: metricsInterval.seconds) } catch { return }
                    await telemetry.refresh()
                    logger.notice("metrics", metadata: Self.metadata(metrics.samples()))
                }
            } : nil
            defer { reporter?.cancel() }
            do {
                // The services shut down in reverse order: the deadline first (it arms a timer), then
                // the admin endpoint (a scrape during the stop still answers), then the node.
                var services: [any Service] = [MonitorNode(monitor: monitor, onStarted: started), hangup]
                if let admin { services.append(admin) }
                services.append(ShutdownDeadline(limit: shutdownTimeout.seconds, logger: logger, systemd: systemd))
                let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await group.run()
            } catch let error as MonitorError {
                throw UserFacingError.from(error, storePath: storePath)
            } catch {
                throw UserFacingError.monitorFailed("\(error)")
            }
            await telemetry.refresh()
            logger.info("metrics at shutdown", metadata: Self.metadata(metrics.samples()))
            logger.notice("node stopped", metadata: ["name": "\(name)"])
        }
    }
}

extension NodeCommand {
    /// `--join`'s member name (when given as NAME=URL) and URL.
    static func joinTarget(_ join: String) -> (name: String?, url: String) {
        guard let equals = join.firstIndex(of: "="), !join[..<equals].contains(":") else { return (nil, join) }
        return (String(join[..<equals]), String(join[join.index(after: equals)...]))
    }

    /// Metric samples as logger metadata: `name{label=value,…}` → the value (whole numbers without a fraction).
    static func metadata(_ samples: [(name: String, value: Double)]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (name, value) in samples {
            metadata[name] = value.rounded() == value && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
        }
        return metadata
    }
}

/// Bounds a graceful shutdown: once it begins, the process exits after `limit` even if the node has not stopped.
///
/// A monitor's shutdown lets its per-peer queues drain, and each message to a peer that is down
/// waits for the transport's send timeout, so with peers gone it could take long. Every store
/// write is synced when it is made, so leaving then loses nothing.
struct ShutdownDeadline: Service {
    let limit: Duration
    let logger: Logger
    /// Told the moment the stop begins (`STOPPING=1`), so systemd does not take the wait for a hang.
    let systemd: SystemdNotifier

    func run() async throws {
        // Cancelled (the node failed): nothing to bound.
        do { try await gracefulShutdown() } catch { return }
        systemd.notify(["STOPPING=1", "STATUS=stopping"])
        let (limit, logger) = (limit, logger)
        // A thread of its own, so the deadline holds even if every task of the pool is blocked.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: limit.inSeconds)
            logger.warning("the node did not stop within the shutdown timeout; exiting (every write is durable)")
            ProcessExit.now(0)
        }
    }
}

/// The node's store, to close once the monitor has let go of it.
final class OpenedStore: Sendable {
    private let store = LockedState<(any MonitorStore)?>(nil)

    /// Starts tracking `store`.
    func track(_ store: any MonitorStore) { self.store.withLock { $0 = store } }

    /// Closes the store once nothing uses it (the monitor and its snapshots released), trying
    /// for up to `timeout`; `true` when it is closed (or none was opened).
    func close(within timeout: Duration) async -> Bool {
        guard let store = store.withLock({ $0 }) else { return true }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        // The close runs inside the exit gate: the shutdown deadline cannot end the process mid-close.
        while !ProcessExit.whileHeld({ store.close() }) {
            guard clock.now < deadline else { return false }
            try? await clock.sleep(for: .milliseconds(20))
        }
        return true
    }
}

/// The one way a node process ends, and the gate that keeps an exit from cutting a store close short.
enum ProcessExit {
    private static let gate = LockedState(())

    /// Runs `body` (a store close) so that no exit happens meanwhile.
    static func whileHeld<R>(_ body: () -> R) -> R { gate.withLock { _ in body() } }

    /// Flushes standard output and error and ends the process with `status`, without running
    /// `atexit` handlers or static destructors; waits for a close in progress first.
    static func now(_ status: Int32) -> Never {
        gate.withLock { _ in
            fflush(nil)
            _exit(status)
        }
    }
}

/// `--lease`, `--election-timeout`, … : every timer and Paxos setting of `MonitorConfiguration`.
struct MonitorTimerOptions: ParsableArguments {
    private static let defaults = MonitorConfiguration.default

    @Option(help: ArgumentHelp("Seconds a probing monitor waits for replies before probing again (mon_probe_timeout).", valueName: "s"))
    var probeTimeout: Double = defaults.probeTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds an election may take before it is restarted (mon_election_timeout).", valueName: "s"))
    var electionTimeout: Double = defaults.electionTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds a lease lets a peon serve reads (mon_lease).", valueName: "s"))
    var lease: Double = defaults.lease.inSeconds

    @Option(help: ArgumentHelp("Seconds between lease extensions by the leader (mon_lease_renew_interval).", valueName: "s"))
    var leaseRenewInterval: Double = defaults.leaseRenewInterval.inSeconds

    @Option(help: ArgumentHelp("Seconds the leader waits for lease acks, and a peon for a lease (mon_lease_ack_timeout).", valueName: "s"))
    var leaseAckTimeout: Double = defaults.leaseAckTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds the leader waits for LAST and ACCEPT replies (mon_accept_timeout).", valueName: "s"))
    var acceptTimeout: Double = defaults.acceptTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds the leader batches writes before proposing (paxos_propose_interval; Ceph uses 1).", valueName: "s"))
    var proposeInterval: Double = defaults.proposeInterval.inSeconds

    @Option(help: ArgumentHelp("Fewest Paxos versions kept when trimming (paxos_min).", valueName: "n"))
    var paxosMin: UInt64 = defaults.paxosMin

    @Option(help: ArgumentHelp("Versions beyond --paxos-min before a trim is proposed (paxos_trim_min).", valueName: "n"))
    var paxosTrimMin: UInt64 = defaults.paxosTrimMin

    @Option(help: ArgumentHelp("Most versions one trim erases (paxos_trim_max).", valueName: "n"))
    var paxosTrimMax: UInt64 = defaults.paxosTrimMax

    @Option(help: ArgumentHelp("Versions committed past a trim hold before trimming anyway (paxos_trim_disabled_max_versions).", valueName: "n"))
    var trimDisabledMaxVersions: UInt64 = defaults.trimDisabledMaxVersions

    @Option(help: ArgumentHelp("Client writes the leader queues before refusing more.", valueName: "n"))
    var maxPendingWrites: Int = defaults.maxPendingWrites

    func validate() throws {
        let timers: [(String, Double)] = [
            ("--probe-timeout", probeTimeout), ("--election-timeout", electionTimeout), ("--lease", lease),
            ("--lease-renew-interval", leaseRenewInterval), ("--lease-ack-timeout", leaseAckTimeout),
            ("--accept-timeout", acceptTimeout),
        ]
        for (flag, value) in timers where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(flag) must be between 0 and 86400 seconds (got \(value)).")
        }
        guard proposeInterval >= 0 && proposeInterval <= 60 else {
            throw ValidationError("--propose-interval must be between 0 and 60 seconds (got \(proposeInterval)).")
        }
        guard leaseRenewInterval < lease else {
            throw ValidationError("--lease-renew-interval (\(leaseRenewInterval)) must be shorter than --lease (\(lease)), or leases lapse.")
        }
        guard maxPendingWrites > 0 else { throw ValidationError("--max-pending-writes must be at least 1.") }
    }

    var configuration: MonitorConfiguration {
        MonitorConfiguration(
            probeTimeout: probeTimeout.seconds, electionTimeout: electionTimeout.seconds, lease: lease.seconds,
            leaseRenewInterval: leaseRenewInterval.seconds, leaseAckTimeout: leaseAckTimeout.seconds,
            acceptTimeout: acceptTimeout.seconds, paxosMin: paxosMin, paxosTrimMin: paxosTrimMin,
            paxosTrimMax: paxosTrimMax, trimDisabledMaxVersions: trimDisabledMaxVersions,
            proposeInterval: proposeInterval.seconds, maxPendingWrites: maxPendingWrites)
    }
}

/// `--sync-window`, `--sync-chunk-size`, `--sync-*-timeout`, … : the settings of `SyncConfiguration`.
struct SyncOptions: ParsableArguments {
    private static let defaults = SyncConfiguration()
    /// The largest window a node accepts: a requester holds that many chunks (of up to
    /// `--sync-chunk-size`) in flight.
    static let windowLimit = 1024

    @Option(help: ArgumentHelp("Chunks a provider may have unacknowledged when a sync stream starts, and the least a requester's window shrinks to; 1 is Ceph's stop-and-wait.", valueName: "n"))
    var syncWindow: Int = defaults.window

    @Option(help: ArgumentHelp("The largest window: how far a requester's window grows while round trips show the link has room, and the most a provider grants. Equal to --sync-window: a fixed window.", valueName: "n"))
    var syncMaxWindow: Int = defaults.maxWindow

    @Option(help: ArgumentHelp("Largest chunk in bytes (mon_sync_max_payload_size).", valueName: "bytes"))
    var syncChunkSize: Int = defaults.chunkLimits.maxBytes

    @Option(help: ArgumentHelp("Most entries in one chunk.", valueName: "n"))
    var syncChunkKeys: Int = defaults.chunkLimits.maxKeys

    @Option(help: ArgumentHelp("Seconds the leader holds trim for a sync without hearing from it (mon_sync_trim_timeout).", valueName: "s"))
    var syncTrimTimeout: Double = defaults.trimTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds the leader waits before re-enabling trim after the last sync ended (C_TrimEnable).", valueName: "s"))
    var syncTrimEnableDelay: Double = defaults.trimEnableDelay.inSeconds

    @Option(help: ArgumentHelp("Seconds a provider keeps a silent sync session (mon_sync_timeout).", valueName: "s"))
    var syncProviderTimeout: Double = defaults.providerTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds a requester waits for the leader's START_REPLY (2 × mon_sync_trim_timeout).", valueName: "s"))
    var syncStartTimeout: Double = defaults.startTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds a requester waits after a RETRY before asking again (mon_sync_backoff_timeout).", valueName: "s"))
    var syncBackoff: Double = defaults.startRetryBackoff.inSeconds

    @Option(help: ArgumentHelp("Seconds between a requester's heartbeats to the leader (mon_sync_heartbeat_interval).", valueName: "s"))
    var syncHeartbeatInterval: Double = defaults.heartbeatInterval.inSeconds

    @Option(help: ArgumentHelp("Seconds without a heartbeat reply before a requester counts a heartbeat timeout and looks for the leader among the other members (mon_sync_heartbeat_timeout; not fatal: the copy goes on).", valueName: "s"))
    var syncHeartbeatTimeout: Double = defaults.heartbeatTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds a requester waits for the next chunk (mon_sync_timeout).", valueName: "s"))
    var syncChunkTimeout: Double = defaults.chunkTimeout.inSeconds

    @Option(help: ArgumentHelp("Seconds between a requester's progress log lines while it streams (0: only at the end).", valueName: "s"))
    var syncProgressInterval: Double = defaults.progressLogInterval.inSeconds

    @Option(help: ArgumentHelp("Providers a requester tries before giving up a sync (mon_sync_max_retries).", valueName: "n"))
    var syncMaxRetries: Int = defaults.maxProviderSwitches

    @Option(help: ArgumentHelp("START attempts a requester makes before giving up (Ceph re-probes forever).", valueName: "n"))
    var syncStartAttempts: Int = defaults.startRetryAttempts

    @Option(help: ArgumentHelp("Syncs a provider serves at once; more get RETRY.", valueName: "n"))
    var syncMaxSessions: Int = defaults.maxProviderSessions

    @Option(help: ArgumentHelp("Most chunk bytes a second this monitor sends as a provider, all its syncs together (0: no limit; TiKV's snap-max-write-bytes-per-sec). Caps what a sync takes from Paxos's disk, CPU and network.", valueName: "bytes"))
    var syncMaxBytesPerSecond: Int = defaults.providerByteRate

    @Option(help: ArgumentHelp("Backup streams (monsync snapshot save) a provider serves at once, beside its syncs; more get RETRY, 0 refuses every backup.", valueName: "n"))
    var syncMaxBackups: Int = defaults.maxBackupSessions

    func validate() throws {
        let timers: [(String, Double)] = [
            ("--sync-trim-timeout", syncTrimTimeout), ("--sync-trim-enable-delay", syncTrimEnableDelay),
            ("--sync-provider-timeout", syncProviderTimeout), ("--sync-start-timeout", syncStartTimeout),
            ("--sync-backoff", syncBackoff), ("--sync-heartbeat-interval", syncHeartbeatInterval),
            ("--sync-heartbeat-timeout", syncHeartbeatTimeout), ("--sync-chunk-timeout", syncChunkTimeout),
        ]
        for (flag, value) in timers where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(flag) must be between 0 and 86400 seconds (got \(value)).")
        }
        guard syncProgressInterval >= 0 && syncProgressInterval <= 86_400 else {
            throw ValidationError("--sync-progress-interval must be between 0 and 86400 seconds (got \(syncProgressInterval)).")
        }
        let counts: [(String, Int)] = [
            ("--sync-window", syncWindow), ("--sync-max-window", syncMaxWindow), ("--sync-chunk-size", syncChunkSize), ("--sync-chunk-keys", syncChunkKeys),
            ("--sync-max-retries", syncMaxRetries), ("--sync-start-attempts", syncStartAttempts),
            ("--sync-max-sessions", syncMaxSessions),
        ]
        for (flag, value) in counts where value < 1 { throw ValidationError("\(flag) must be at least 1 (got \(value)).") }
        guard syncMaxBytesPerSecond >= 0 else {
            throw ValidationError("--sync-max-bytes-per-second must be 0 (no limit) or more (got \(syncMaxBytesPerSecond)).")
        }
        guard syncMaxBackups >= 0 else { throw ValidationError("--sync-max-backups must be 0 (no backups) or more (got \(syncMaxBackups)).") }
        guard syncChunkSize <= 64 << 20 else { throw ValidationError("--sync-chunk-size must be at most 67108864 bytes.") }
        guard syncMaxWindow <= Self.windowLimit else {
            throw ValidationError("--sync-max-window must be at most \(Self.windowLimit) (got \(syncMaxWindow)).")
        }
        guard syncWindow <= syncMaxWindow else {
            throw ValidationError("--sync-window (\(syncWindow)) must be at most --sync-max-window (\(syncMaxWindow)).")
        }
    }

    var configuration: SyncConfiguration {
        var configuration = SyncConfiguration()
        configuration.window = syncWindow
        configuration.maxWindow = syncMaxWindow
        configuration.chunkLimits = ChunkLimits(maxBytes: syncChunkSize, maxKeys: syncChunkKeys)
        configuration.trimTimeout = syncTrimTimeout.seconds
        configuration.trimEnableDelay = syncTrimEnableDelay.seconds
        configuration.providerTimeout = syncProviderTimeout.seconds
        configuration.startTimeout = syncStartTimeout.seconds
        configuration.startRetryBackoff = syncBackoff.seconds
        configuration.heartbeatInterval = syncHeartbeatInterval.seconds
        configuration.heartbeatTimeout = syncHeartbeatTimeout.seconds
        configuration.progressLogInterval = syncProgressInterval.seconds
        configuration.chunkTimeout = syncChunkTimeout.seconds
        configuration.maxProviderSwitches = syncMaxRetries
        configuration.startRetryAttempts = syncStartAttempts
        configuration.maxProviderSessions = syncMaxSessions
        configuration.providerByteRate = syncMaxBytesPerSecond
        configuration.maxBackupSessions = syncMaxBackups
        return configuration
    }
}

extension NodeCommand {
    /// The monmap the member at `url` follows (`--join`), asked over a client connection with this
    /// node's keys, for up to 30 s (the member may itself be starting).
    ///
    /// - Throws: ``UserFacingError/joinFailed(member:detail:)`` when no monmap came back,
    ///   ``UserFacingError/notYetAdded(name:member:epoch:members:)`` when it does not name `name`.
    static func fetchMonmap(from join: String, name: String, cluster: ClusterOptions, logger: Logger) async throws -> MonMap {
        let (member, url) = joinTarget(join)
        let seed: MonMap
        do { seed = try MonMap(named: [(member ?? url, url)]) } catch { throw UserFacingError.invalidMonmap("\(error)") }
        let connection = try await ClientEndpoint.startClient(
            monmap: seed, registry: try Transports.registry(logger: logger, cluster: cluster, monmap: seed),
            options: TransportOptions(sendTimeout: .seconds(5)), logger: logger)
        defer { Task { await connection.close() } }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while true {
            let survey = await connection.client.survey(timeout: .seconds(5), attemptTimeout: .seconds(2))
            if let (epoch, members) = survey.clusterMonmap {
                let map: MonMap
                do { map = try MonMap(epoch: epoch, members: members) } catch {
                    throw UserFacingError.joinFailed(member: url, detail: "its monmap is invalid (\(error))")
                }
                guard map.member(named: name) != nil else {
                    throw UserFacingError.notYetAdded(name: name, member: url, epoch: epoch, members: members.map(\.name))
                }
                logger.info("joining with the monmap of a member", metadata: ["member": "\(url)", "monmap": "\(map)"])
                return map
            }
            guard clock.now < deadline else { throw UserFacingError.joinFailed(member: url, detail: "no answer in 30 s") }
            try await clock.sleep(for: .seconds(1))
        }
    }
}
