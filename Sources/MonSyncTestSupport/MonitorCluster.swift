public import Clocks
import Logging
public import MonSyncCore
public import MonSyncLoopback
public import MonSyncMessages
public import MonSyncMonitor
public import MonSyncStore
public import MonSyncStoreSync

/// Monitors (one to five, `a`…`e`) on one loopback network, driven by one test clock, each with an
/// in-memory store that outlives it, so a monitor can be stopped and started again with its data.
///
/// Simulated time moves only when the harness steps it: ``run(until:within:_:)`` advances the clock in
/// 50 ms steps and lets the woken tasks run between them, until a condition holds or a simulated
/// deadline passes (a bounded poll: the real-time cost is a few milliseconds per step). Giving up
/// throws ``TimedOut`` naming the condition and every monitor's status.
public final class MonitorCluster: Sendable {
    public let clock = TestClock<Duration>()
    public let network: LoopbackNetwork
    public let monmap: MonMap
    public let configuration: MonitorConfiguration
    public let syncConfiguration: SyncConfiguration
    public let stores: [InMemoryStore]
    private let monitorSeed: (@Sendable (Int) -> UInt64)?
    private let clientIDBase: UInt64
    private let defaultLimit: Duration
    private let monitors: LockedState<[Monitor?]>
    private let clientCount = LockedState(0)

    public static let names = ["a", "b", "c", "d", "e"]

    /// Ceph's timers with a small paxos_min so trims happen in tests.
    public static let testConfiguration = MonitorConfiguration(paxosMin: 10, paxosTrimMin: 5, paxosTrimMax: 50)

    /// - Parameters:
    ///   - size: how many monitors the monmap has (`a`, `b`, … at `loopback://mon.<name>`).
    ///   - seed: the loopback network's seed (its faults).
    ///   - configuration: every monitor's timers and Paxos settings.
    ///   - syncConfiguration: every monitor's store-sync timers and limits.
    ///   - monitorSeed: the seed of a monitor's election back-off, by rank; `nil`: each draws one at random.
    ///   - clientIDBase: client `n` (the n-th ``client()``, from 1) has id `clientIDBase + n`.
    ///   - defaultLimit: how much simulated time ``run(until:within:_:)`` waits when not told.
    public init(size: Int = 3, seed: UInt64 = 42, configuration: MonitorConfiguration = MonitorCluster.testConfiguration,
                syncConfiguration: SyncConfiguration = SyncConfiguration(), monitorSeed: (@Sendable (Int) -> UInt64)? = nil,
                clientIDBase: UInt64 = 0xC11E_0000, defaultLimit: Duration = .seconds(60)) throws {
        network = LoopbackNetwork(seed: seed)
        monmap = try MonMap(named: Self.names.prefix(size).map { ($0, "loopback://mon.\($0)") })
        self.configuration = configuration
        self.syncConfiguration = syncConfiguration
        self.monitorSeed = monitorSeed
        self.clientIDBase = clientIDBase
        self.defaultLimit = defaultLimit
        stores = (0..<size).map { _ in InMemoryStore() }
        monitors = LockedState(Array(repeating: nil, count: size))
    }

    public var options: TransportOptions { TransportOptions(sendTimeout: .seconds(2), clock: clock) }

    /// The monitor of `rank` last started (until ``stop(_:)``), running or stopped by hand.
    public func monitor(_ rank: Int) -> Monitor? { monitors.withLock { $0[rank] } }

    /// Starts (or restarts, with its store) the monitor of `rank`; `runsStoreSync: false` leaves an
    /// oblivious monitor out of the quorum (its decision stays observable).
    @discardableResult
    public func start(_ rank: Int, store: (any MonitorStore)? = nil, runsStoreSync: Bool = true) async throws -> Monitor {
        let member = monmap.members[rank]
        let transport = LoopbackTransport(address: try TransportAddress(member.address), network: network, options: options)
        var logger = Logger(label: "test.mon")
        logger.logLevel = .critical
        let monitor = try Monitor(monmap: monmap, name: member.name, transport: transport, store: store ?? stores[rank],
                                  configuration: configuration, syncConfiguration: syncConfiguration,
                                  runsStoreSync: runsStoreSync, timebase: Timebase(clock), seed: monitorSeed?(rank),
                                  logger: logger)
        monitors.withLock { $0[rank] = monitor }
        try await monitor.start()
        return monitor
    }

    /// Starts a monitor named `name` that is not in the cluster's initial monmap, at
    /// `loopback://mon.<name>`, following `monmap` (which must name it), on `store`. It is not among
    /// the ranks ``monitor(_:)`` knows; the caller keeps it (and stops it).
    public func startNewMember(_ name: String, monmap: MonMap, store: any MonitorStore) async throws -> Monitor {
        let transport = LoopbackTransport(address: try TransportAddress("loopback://mon.\(name)"), network: network, options: options)
        var logger = Logger(label: "test.mon")
        logger.logLevel = .critical
        let monitor = try Monitor(monmap: monmap, name: name, transport: transport, store: store,
                                  configuration: configuration, syncConfiguration: syncConfiguration,
                                  timebase: Timebase(clock), seed: monitorSeed?(monmap.count), logger: logger)
        try await monitor.start()
        return monitor
    }

    public func startAll() async throws {
        for rank in monmap.members.indices { try await start(rank) }
    }

    /// Stops the monitor of `rank` and forgets it (its store is kept for a restart).
    public func stop(_ rank: Int) async {
        let monitor = monitors.withLock { monitors -> Monitor? in
            defer { monitors[rank] = nil }
            return monitors[rank]
        }
        await monitor?.stop()
    }

    /// Stops every monitor the cluster still holds (stopping one twice is harmless).
    public func stopAll() async {
        for rank in monmap.members.indices { await stop(rank) }
    }

    /// A started client at `loopback://client.<n>`, the n-th of this cluster (from 1), with id `clientIDBase + n`.
    public func client() async throws -> MonitorClient {
        let number = clientCount.withLock { count in
            count += 1
            return count
        }
        let transport = LoopbackTransport(address: try TransportAddress("loopback://client.\(number)"), network: network, options: options)
        var logger = Logger(label: "test.client")
        logger.logLevel = .critical
        let client = MonitorClient(transport: transport, monmap: monmap, clientID: clientIDBase + UInt64(number),
                                   timebase: Timebase(clock), logger: logger)
        try await client.start()
        return client
    }

    /// Lets woken tasks run, then advances simulated time by `step`.
    public func step(_ step: Duration = .milliseconds(50)) async {
        for _ in 0..<10 { await Task.yield() }
        try? await Task.sleep(for: .microseconds(300))
        await clock.advance(by: step)
    }

    /// Steps the clock until `condition` holds; throws ``TimedOut`` after `limit` of simulated time
    /// (the cluster's default limit when `nil`).
    public func run(until what: String, within limit: Duration? = nil, _ condition: () async -> Bool) async throws {
        let limit = limit ?? defaultLimit
        var elapsed = Duration.zero
        while !(await condition()) {
            if elapsed >= limit {
                throw TimedOut(what: what, details: "simulated \(limit); statuses: \(await statuses())\(seedNote)")
            }
            await step()
            elapsed += .milliseconds(50)
        }
    }

    /// Runs `body` while stepping the clock, so the timers it waits on fire, until it returns.
    public func perform<T: Sendable>(within limit: Duration = .seconds(120),
                                     _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let done = LockedState(false)
        let task = Task {
            defer { done.withLock { $0 = true } }
            return try await body()
        }
        try await run(until: "an operation", within: limit) { done.withLock { $0 } }
        return try await task.value
    }

    /// Simulates `duration` of time.
    public func idle(for duration: Duration) async {
        var elapsed = Duration.zero
        while elapsed < duration {
            await step()
            elapsed += .milliseconds(50)
        }
    }

    /// Every monitor's status, or that it is down.
    public func statuses() async -> [String] {
        var result: [String] = []
        for rank in monmap.members.indices {
            if let monitor = monitor(rank) { result.append("\(await monitor.status)") } else { result.append("mon.\(monmap.members[rank].name) down") }
        }
        return result
    }

    /// The running monitors' statuses.
    public func liveStatuses() async -> [MonitorStatus] {
        var result: [MonitorStatus] = []
        for rank in monmap.members.indices {
            if let monitor = monitor(rank) { result.append(await monitor.status) }
        }
        return result
    }

    /// Whether each monitor of `ranks` is held and reports itself in the quorum of exactly `ranks`.
    public func inQuorum(_ ranks: [Int32]) async -> Bool {
        for rank in ranks {
            guard let status = await monitor(Int(rank))?.status, status.quorum == ranks, status.state.isInQuorum else { return false }
        }
        return true
    }

    /// Whether the running monitors (all of `ranks`) form one quorum with an active leader: one leader
    /// for all, and the leader can serve reads.
    public func hasQuorum(of ranks: [Int32]) async -> Bool {
        let statuses = await liveStatuses().filter { ranks.contains($0.rank) }
        guard statuses.count == ranks.count, let leader = statuses.first?.leader else { return false }
        guard statuses.allSatisfy({ $0.quorum == ranks.sorted() && $0.leader == leader && $0.state.isInQuorum }) else { return false }
        guard let leaderMonitor = monitor(Int(leader)) else { return false }
        return await leaderMonitor.isReadable
    }

    /// Waits until `ranks` form a quorum (``hasQuorum(of:)``) and returns its leader.
    @discardableResult
    public func waitForQuorum(_ ranks: [Int32], within limit: Duration = .seconds(60)) async throws -> Int32 {
        try await run(until: "quorum \(ranks)", within: limit) { await hasQuorum(of: ranks) }
        return await monitor(Int(ranks[0]))!.status.leader!
    }

    /// Waits until every running monitor in `ranks` reached `version`.
    public func waitForVersion(_ version: UInt64, on ranks: [Int32], within limit: Duration = .seconds(60)) async throws {
        try await run(until: "v\(version) on \(ranks)", within: limit) {
            for rank in ranks {
                guard let monitor = monitor(Int(rank)), await monitor.lastCommitted >= version else { return false }
            }
            return true
        }
    }
}
