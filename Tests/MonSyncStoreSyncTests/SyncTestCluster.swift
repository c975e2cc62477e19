import Clocks
import Foundation
import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

/// A provider environment that always serves, with fixed targets (the monitor supplies the real one).
struct FixedEnvironment: SyncProviderEnvironment {
    var serving = true
    var targets = ["kv", "paxos"]
    func canServeSync() async -> Bool { serving }
    func syncTargets() async -> [String] { targets }
}

/// One node on a loopback network: transport, dispatcher, store and both sync roles.
struct SyncNode {
    let entity: MonitorEntity
    let transport: LoopbackTransport
    let dispatcher: Dispatcher
    let store: InMemoryStore
    let provider: SyncProvider
    let requester: SyncRequester
    let running: Task<Void, Never>

    static func start(_ name: String, rank: Int32, network: LoopbackNetwork, clock: any Clock<Duration>,
                      configuration: SyncConfiguration, environment: any SyncProviderEnvironment = FixedEnvironment()) async throws -> SyncNode {
        let address = try TransportAddress("loopback://\(name)")
        let transport = LoopbackTransport(address: address, network: network, options: TransportOptions(clock: clock))
        try await transport.start()
        let store = InMemoryStore()
        let timebase = Timebase(clock)
        var logger = Logger(label: "test.sync.\(name)")
        logger.logLevel = .error
        let provider = SyncProvider(store: store, environment: environment, configuration: configuration, timebase: timebase, logger: logger)
        let requester = SyncRequester(store: store, configuration: configuration, timebase: timebase, seed: testSeed(UInt64(rank) + 100), logger: logger)
        var router = MessageRouter()
        SyncRoutes.register(provider: provider, requester: requester, on: &router)
        let dispatcher = Dispatcher(transport: transport, router: router, logger: logger)
        let running = Task { await dispatcher.run() }
        return SyncNode(entity: MonitorEntity(rank: rank, name: name, address: "\(address)"), transport: transport,
                        dispatcher: dispatcher, store: store, provider: provider, requester: requester, running: running)
    }

    func stop() async {
        await transport.shutdown()
        await running.value
    }

    func digest() throws -> StoreDigest { try store.digest(of: ["kv", "paxos"]) }
}

/// Commits versions `range` to `store` through the Paxos log: each writes a few keys, rewrites an older one
/// and erases another, so rolling forward matters.
func commitVersions(_ range: ClosedRange<UInt64>, to stores: [InMemoryStore], valueSize: Int = 200) throws {
    for version in range {
        var transaction = StoreTransaction()
        for index in 0..<4 {
            let value = [UInt8](repeating: UInt8(truncatingIfNeeded: version &+ UInt64(index)), count: valueSize)
            transaction.put("kv", String(format: "key-%05d-%d", version, index), value)
        }
        if version > 3 {
            transaction.put("kv", String(format: "key-%05d-%d", version / 2, 0), Array("rewritten at \(version)".utf8))
            transaction.erase("kv", String(format: "key-%05d-%d", version / 3, 1))
        }
        for store in stores { try PaxosLog(store: store).commit(version: version, transaction) }
    }
}

/// Waits, in real time, for `condition`; records an issue after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async -> Bool) async {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !(await condition()) {
        if clock.now > deadline {
            Issue.record("timed out waiting for \(what)\(seedNote)")
            return
        }
        try? await Task.sleep(for: .milliseconds(2))
    }
}

/// Advances `clock` by `total`, then keeps nudging it in small steps until `condition` holds.
///
/// Why not one `advance`: swift-clocks' `TestClock` suspends a sleeper whose deadline equals
/// `now` (`deadline >= now`), so a timer task that only starts sleeping after the advance, with a
/// deadline the advance reached exactly, would wait for the next advance. Nudging is that advance.
func advance(_ clock: TestClock<Duration>, by total: Duration, until what: String,
             _ condition: () async -> Bool) async {
    await clock.advance(by: total)
    for _ in 0..<200 {
        if await condition() { return }
        await settle(short: true)
        await clock.advance(by: .milliseconds(10))
    }
    if !(await condition()) { Issue.record("the test clock advanced by \(total) + 2 s, but never: \(what)\(seedNote)") }
}
