import Logging
import MonSyncCore
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import ServiceLifecycle
import Testing

@Suite("Monitor node life cycle", .serialized)
struct LifecycleTests {
    @Test("a graceful shutdown of the service group stops the monitor and releases its address")
    func gracefulShutdown() async throws {
        let cluster = try MonitorCluster()
        let member = cluster.monmap.members[0]
        let transport = LoopbackTransport(address: try TransportAddress(member.address), network: cluster.network, options: cluster.options)
        let monitor = try Monitor(monmap: cluster.monmap, name: member.name, transport: transport, store: cluster.stores[0],
                                  configuration: cluster.configuration, timebase: Timebase(cluster.clock))
        var logger = Logger(label: "test.lifecycle")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [MonitorNode(monitor: monitor)], logger: logger))
        let running = Task { try await group.run() }
        try await cluster.run(until: "the monitor probes") { await monitor.state == .probing && cluster.network.addresses.contains("loopback://mon.a") }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(await monitor.state == .shutdown)
        #expect(!cluster.network.addresses.contains("loopback://mon.a"))
    }

    @Test("the monitor refuses a transport that listens on another address than its monmap entry")
    func addressMismatch() throws {
        let cluster = try MonitorCluster()
        let transport = LoopbackTransport(address: "loopback://elsewhere", network: cluster.network)
        #expect(throws: MonitorError.self) {
            _ = try Monitor(monmap: cluster.monmap, name: "a", transport: transport, store: InMemoryStore())
        }
        #expect(throws: MonitorError.notInMonmap("z")) {
            _ = try Monitor(monmap: cluster.monmap, name: "z", transport: transport, store: InMemoryStore())
        }
    }
}
