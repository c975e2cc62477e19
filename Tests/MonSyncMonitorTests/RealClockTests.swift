import Logging
import MonSyncCore
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import MonSyncTestSupport
import Testing

@Suite("Cluster on the continuous clock", .serialized)
struct RealClockTests {
    /// Polls (real time) until `condition` holds; records `monitors`' states if it does not within `limit`.
    ///
    /// 60 s, though a quiet machine elects in well under one: the timers here are 200–500 ms, and
    /// beside a full test run and a simulator campaign (load average 17 on two cores) one run
    /// took over 20 s of probe and election rounds cut short by starved steps before its leader
    /// recovered; the elections back off until they settle, which is what this test waits for.
    func eventually(_ what: String, within limit: Duration = .seconds(60), monitors: [Monitor] = [],
                    _ condition: () async -> Bool) async throws {
        do {
            try await MonSyncTestSupport.eventually(what, timeout: limit, polling: .milliseconds(10), condition)
        } catch let timedOut as TimedOut {
            var states: [String] = []
            for monitor in monitors {
                let (status, readable, statistics) = (await monitor.status, await monitor.isReadable, await monitor.statistics)
                states.append("\(status.name): \(status.state) e\(status.electionEpoch) q\(status.quorum) lc\(status.lastCommitted) readable \(readable) \(statistics)")
            }
            Issue.record("timed out waiting for \(what); \(states.joined(separator: "; "))")
            throw timedOut
        }
    }

    @Test("with short real timers: election, writes, leader failover")
    func realClock() async throws {
        let configuration = MonitorConfiguration(probeTimeout: .milliseconds(200), electionTimeout: .milliseconds(500),
                                                 lease: .milliseconds(500), leaseRenewInterval: .milliseconds(300),
                                                 leaseAckTimeout: .seconds(1), acceptTimeout: .seconds(1))
        let network = LoopbackNetwork(seed: 3)
        let monmap = try MonMap(parsing: "a=loopback://rt.a,b=loopback://rt.b,c=loopback://rt.c")
        var logger = Logger(label: "test.realclock")
        logger.logLevel = .critical
        var monitors: [Monitor] = []
        for member in monmap.members {
            let transport = LoopbackTransport(address: try TransportAddress(member.address), network: network)
            let monitor = try Monitor(monmap: monmap, name: member.name, transport: transport, store: InMemoryStore(),
                                      configuration: configuration, logger: logger)
            try await monitor.start()
            monitors.append(monitor)
        }
        try await eventually("a leader", monitors: monitors) {
            let (state, readable) = (await monitors[0].state, await monitors[0].isReadable)
            return state == .leader && readable
        }
        let client = MonitorClient(transport: LoopbackTransport(address: "loopback://rt.client", network: network),
                                   monmap: monmap, clientID: 99, retryInterval: .milliseconds(100), logger: logger)
        try await client.start()
        for index in 0..<10 { try await client.put("k\(index)", Array("v"), timeout: .seconds(20)) }
        await monitors[0].stop()
        try await eventually("a new leader", monitors: monitors) {
            let (state, readable) = (await monitors[1].state, await monitors[1].isReadable)
            return state == .leader && readable
        }
        for index in 10..<15 { try await client.put("k\(index)", Array("v"), timeout: .seconds(20)) }
        #expect(try await client.list(prefix: "k", timeout: .seconds(20)).count == 15)
        await client.shutdown()
        for monitor in monitors { await monitor.stop() }
    }
}
