import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing
#if ZeroMQ
import MonSyncZeroMQ
#endif

// The code of the article EmbeddingAMonitor.md in MonSyncMonitor.docc. The blocks there are copies
// of the marked lines: change both.

#if ZeroMQ
/// The article: a monitor of a three-member cluster over ZeroMQ with a RocksDB store. Compiled,
/// not run: its ports and path are the article's, fixed.
func embedMonitor() async throws -> Monitor {
    // snippet: embed-monitor
    let monmap = try MonMap(parsing: "a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002,c=tcp://127.0.0.1:7003")
    let transport = try ZeroMQTransport(address: "tcp://127.0.0.1:7001")
    let store = try RocksDBStore(path: "/var/lib/monsync/a")
    let monitor = try Monitor(monmap: monmap, name: "a", transport: transport, store: store)

    try await monitor.start()        // the transport listens; the monitor probes its peers
    // … the process does its work …
    await monitor.stop()             // stops its timers, its sync and its transport
    // snippet: end
    return monitor
}

/// The article: a client of the cluster. Compiled, not run: its port is the article's, fixed.
func talkToCluster(monmap: MonMap) async throws -> (UInt64, [UInt8]?) {
    // snippet: embed-client
    let client = MonitorClient(transport: try ZeroMQTransport(address: "tcp://127.0.0.1:7100"), monmap: monmap)
    try await client.start()
    let version = try await client.put("color", Array("blue".utf8))   // committed in this Paxos version
    let color = try await client.get("color")                         // read from the leader, under its lease
    await client.shutdown()
    // snippet: end
    return (version, color)
}
#endif

/// The article: the monitor as a service that stops on SIGTERM or SIGINT. Compiled, not run: it
/// runs until the process is signalled.
func runAsService(monitor: Monitor, logger: Logger) async throws {
    // snippet: embed-service
    let node = MonitorNode(monitor: monitor, onStarted: { logger.info("monitor a is up") })
    try await node.runUntilSignalled(logger: logger)
    // snippet: end
}

/// The article: a service of one's own beside the key-value service.
func makeInventoryMonitor(monmap: MonMap, transport: any MessageTransport, store: any MonitorStore) throws -> Monitor {
    // snippet: embed-own-service
    struct InventoryService: MonitorService {
        var name: String { "inventory" }
        var prefixes: [String] { ["inventory"] }
    }

    let monitor = try Monitor(monmap: monmap, name: "a", transport: transport, store: store,
                              services: [InventoryService()])
    // snippet: end
    return monitor
}

/// The article: the service's own transaction, committed through Paxos.
func proposeWidgets(on monitor: Monitor) async throws -> (UInt64, [UInt8]?) {
    // snippet: embed-propose
    var transaction = StoreTransaction()
    transaction.put("inventory", "widgets", Array("42".utf8))
    let version = try await monitor.propose(transaction)          // on the leader
    let widgets = try monitor.store.get("inventory", "widgets")   // on any member, once committed there
    // snippet: end
    return (version, widgets)
}

/// The article RunningAStoreSync.md: an external hold on trim.
func holdTrimForBackup(leader: Monitor) async -> Int {
    // snippet: sync-hold-trim
    let hold = await leader.holdTrim(reason: "backup")
    // … read the versions the backup needs from leader.store …
    await leader.releaseTrim(hold)          // a trim that became due meanwhile is proposed now
    // snippet: end
    return await leader.trimHoldCount
}

@Suite("Documentation: embedding a monitor")
struct EmbeddingAMonitorSnippetTests {
    @Test("a one-monitor cluster with a service of its own commits the service's transaction, and holds trim on request")
    func ownServiceCommits() async throws {
        let monmap = try MonMap(parsing: "a=loopback://doc-embed-a")
        let transport = LoopbackTransport(address: "loopback://doc-embed-a", network: LoopbackNetwork())
        let monitor = try makeInventoryMonitor(monmap: monmap, transport: transport, store: InMemoryStore())
        #expect(monitor.syncTargetNames.contains("inventory"), "a registered service's prefix is synced")
        try await monitor.start()
        try await eventually("monitor a leads", timeout: .seconds(30)) { await monitor.status.leader == monitor.rank }

        let (version, widgets) = try await proposeWidgets(on: monitor)
        #expect(version > 0)
        #expect(widgets == Array("42".utf8))
        #expect(await monitor.lastCommitted >= version)

        #expect(await holdTrimForBackup(leader: monitor) == 0, "the hold is given back")
        await monitor.stop()
    }
}
