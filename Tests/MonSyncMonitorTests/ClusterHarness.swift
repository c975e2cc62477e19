import Clocks
import Logging
import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
@testable import MonSyncMonitor
import MonSyncStore
import Testing

/// Three (or more) monitors on one loopback network, driven by one test clock.
///
/// Simulated time moves only when the harness steps it: ``run(until:within:_:)``
/// advances the clock in small steps and lets the woken tasks run between them,
/// until a condition holds or a simulated deadline passes (a bounded poll: the
/// real-time cost is a few milliseconds per step).
final class Cluster: Sendable {
    let clock = TestClock<Duration>()
    let network: LoopbackNetwork
    let monmap: MonMap
    let configuration: MonitorConfiguration
    let stores: [InMemoryStore]
    private let monitors: LockedState<[Monitor?]>
    private let clientCount = LockedState(0)

    static let names = ["a", "b", "c", "d", "e"]

    init(size: Int = 3, seed: UInt64 = 42, configuration: MonitorConfiguration = Cluster.testConfiguration) throws {
        network = LoopbackNetwork(seed: seed)
        monmap = try MonMap(named: Self.names.prefix(size).map { ($0, "loopback://mon.\($0)") })
        self.configuration = configuration
        stores = (0..<size).map { _ in InMemoryStore() }
        monitors = LockedState(Array(repeating: nil, count: size))
    }

    /// Ceph's timers with a small paxos_min so trims happen in tests.
    static let testConfiguration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 50)

    var options: TransportOptions { TransportOptions(sendTimeout: .seconds(2), clock: clock) }

    func monitor(_ rank: Int) -> Monitor? { monitors.withLock { $0[rank] } }

    /// Starts (or restarts, with its store) the monitor of `rank`; `runsStoreSync: false` leaves an
    /// oblivious monitor out of the quorum (its decision stays observable).
    @discardableResult
    func start(_ rank: Int, store: (any MonitorStore)? = nil, runsStoreSync: Bool = true) async throws -> Monitor {
        let member = monmap.members[rank]
        let transport = LoopbackTransport(address: try TransportAddress(member.address), network: network, options: options)
        var logger = Logger(label: "test.mon")
        logger.logLevel = .critical
        let monitor = try Monitor(monmap: monmap, name: member.name, transport: transport, store: store ?? stores[rank],
                                  configuration: configuration, runsStoreSync: runsStoreSync, timebase: Timebase(clock),
                                  logger: logger)
        monitors.withLock { $0[rank] = monitor }
        try await monitor.start()
        return monitor
    }

    func startAll() async throws {
        for rank in monmap.members.indices { try await start(rank) }
    }

    /// Stops the monitor of `rank` (its store is kept for a restart).
    func stop(_ rank: Int) async {
        let monitor = monitors.withLock { monitors -> Monitor? in
            defer { monitors[rank] = nil }
            return monitors[rank]
        }
        await monitor?.stop()
    }

    func stopAll() async {
        for rank in monmap.members.indices { await stop(rank) }
    }

    /// A started client with a seeded id.
    func client() async throws -> MonitorClient {
        let number = clientCount.withLock { count in
            count += 1
            return count
        }
        let transport = LoopbackTransport(address: try TransportAddress("loopback://client.\(number)"), network: network, options: options)
        var logger = Logger(label: "test.client")
        logger.logLevel = .critical
        let client = MonitorClient(transport: transport, monmap: monmap, clientID: 0xC11E_0000 + UInt64(number),
                                   timebase: Timebase(clock), logger: logger)
        try await client.start()
        return client
    }

    /// Lets woken tasks run, then advances simulated time by `step`.
    func step(_ step: Duration = .milliseconds(50)) async {
        for _ in 0..<10 { await Task.yield() }
        try? await Task.sleep(for: .microseconds(300))
        await clock.advance(by: step)
    }

    /// Steps the clock until `condition` holds; records an issue after `limit` of simulated time.
    func run(until what: String, within limit: Duration = .seconds(60),
             _ condition: () async -> Bool) async throws {
        var elapsed = Duration.zero
        while !(await condition()) {
            if elapsed >= limit {
                Issue.record("timed out (simulated \(limit)) waiting for \(what); statuses: \(await statuses())")
                throw HarnessError.timedOut(what)
            }
            await step()
            elapsed += .milliseconds(50)
        }
    }

    /// Runs `body` while stepping the clock, until it returns.
    func perform<T: Sendable>(within limit: Duration = .seconds(120), _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let done = LockedState(false)
        let watcher = Task {
            _ = try? await task.value
            done.withLock { $0 = true }
        }
        try await run(until: "a client operation", within: limit) { done.withLock { $0 } }
        _ = await watcher.value
        return try await task.value
    }

    /// Simulates `duration` of time.
    func idle(for duration: Duration) async {
        var elapsed = Duration.zero
        while elapsed < duration {
            await step()
            elapsed += .milliseconds(50)
        }
    }

    func statuses() async -> [String] {
        var result: [String] = []
        for rank in monmap.members.indices {
            if let monitor = monitor(rank) { result.append("\(await monitor.status)") } else { result.append("mon.\(monmap.members[rank].name) down") }
        }
        return result
    }

    /// The running monitors' statuses.
    func liveStatuses() async -> [MonitorStatus] {
        var result: [MonitorStatus] = []
        for rank in monmap.members.indices {
            if let monitor = monitor(rank) { result.append(await monitor.status) }
        }
        return result
    }

    /// Whether the running monitors (all of `ranks`) form one quorum with an active leader.
    func hasQuorum(of ranks: [Int32]) async -> Bool {
        let statuses = await liveStatuses().filter { ranks.contains($0.rank) }
        guard statuses.count == ranks.count, let leader = statuses.first?.leader else { return false }
        guard statuses.allSatisfy({ $0.quorum == ranks.sorted() && $0.leader == leader && $0.state.isInQuorum }) else { return false }
        guard let leaderMonitor = monitor(Int(leader)) else { return false }
        return await leaderMonitor.isReadable
    }

    /// Waits until `ranks` form a quorum and returns its leader.
    @discardableResult
    func waitForQuorum(_ ranks: [Int32], within limit: Duration = .seconds(60)) async throws -> Int32 {
        try await run(until: "quorum \(ranks)", within: limit) { await hasQuorum(of: ranks) }
        return await monitor(Int(ranks[0]))!.status.leader!
    }

    /// Waits until every running monitor in `ranks` reached `version`.
    func waitForVersion(_ version: UInt64, on ranks: [Int32], within limit: Duration = .seconds(60)) async throws {
        try await run(until: "v\(version) on \(ranks)", within: limit) {
            for rank in ranks {
                guard let monitor = monitor(Int(rank)), await monitor.lastCommitted >= version else { return false }
            }
            return true
        }
    }
}

enum HarnessError: Error {
    case timedOut(String)
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}
