import Clocks
import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

/// The cluster as the monitor would describe it to the sync roles: who leads, who is in the quorum.
/// Tests change it to play elections; the roles read it on every message, as they would a monitor's state.
final class ClusterView: SyncLeaderEnvironment, SyncRequesterEnvironment, Sendable {
    struct State {
        var leader: MonitorEntity?
        var quorum: [MonitorEntity]
        var stores: [String: InMemoryStore]
    }
    let state: LockedState<State>
    let local: MonitorEntity

    init(local: MonitorEntity, shared: LockedState<State>) {
        self.local = local
        state = shared
    }

    func localEntity() async -> MonitorEntity { local }
    func currentLeader() async -> MonitorEntity? { state.withLock { $0.leader } }
    func providerCandidates() async -> [MonitorEntity] { state.withLock { $0.quorum } }
    func paxosBounds() async -> (first: UInt64, last: UInt64) {
        guard let store = state.withLock({ $0.stores[local.address] }) else { return (0, 0) }
        let log = PaxosLog(store: store)
        return ((try? log.firstCommitted()) ?? 0, (try? log.lastCommitted()) ?? 0)
    }
}

/// Records what the leader role asked of Paxos trimming.
final class TrimRecorder: TrimHoldControl, Sendable {
    let calls = LockedState<[Bool]>([])
    func setTrimHeld(_ held: Bool) async { calls.withLock { $0.append(held) } }
    var held: Bool { calls.withLock { $0.last ?? false } }
}

/// A node with all three roles, wired as a monitor would wire them.
struct RoleNode {
    let entity: MonitorEntity
    let transport: LoopbackTransport
    let dispatcher: Dispatcher
    let store: InMemoryStore
    let leader: SyncLeader
    let provider: SyncProvider
    let requester: SyncRequester
    let view: ClusterView
    let trim: TrimRecorder
    let running: Task<Void, Never>

    func stop() async {
        await transport.shutdown()
        await running.value
    }

    func digest() throws -> StoreDigest { try store.digest(of: ["kv", "paxos"]) }
}

/// Three nodes a (rank 0, leader), b (rank 1), c (rank 2, the one that will sync); a and b form the quorum.
struct RoleCluster {
    let network: LoopbackNetwork
    let clock: TestClock<Duration>
    let shared: LockedState<ClusterView.State>
    let nodes: [RoleNode]

    var a: RoleNode { nodes[0] }
    var b: RoleNode { nodes[1] }
    var c: RoleNode { nodes[2] }

    /// - Parameter seed: the fixed seed; ``testSeed(_:)`` mixes `MONSYNC_TEST_SEED` into it when set.
    static func start(seed fixedSeed: UInt64, configuration: SyncConfiguration, faults: LoopbackFaults = .none) async throws -> RoleCluster {
        let seed = testSeed(fixedSeed)
        let network = LoopbackNetwork(seed: seed, faults: faults)
        let clock = TestClock()
        let entities = ["a", "b", "c"].enumerated().map { MonitorEntity(rank: Int32($0.offset), name: $0.element, address: "loopback://\($0.element)") }
        let stores = entities.map { _ in InMemoryStore() }
        let shared = LockedState(ClusterView.State(leader: entities[0], quorum: [entities[0], entities[1]],
                                                   stores: Dictionary(uniqueKeysWithValues: zip(entities.map(\.address), stores))))
        var nodes: [RoleNode] = []
        for (index, entity) in entities.enumerated() {
            let transport = LoopbackTransport(address: try TransportAddress(entity.address), network: network,
                                              options: TransportOptions(clock: clock))
            try await transport.start()
            let timebase = Timebase(clock)
            var logger = Logger(label: "test.roles.\(entity.name)")
            logger.logLevel = .error
            let view = ClusterView(local: entity, shared: shared)
            let trim = TrimRecorder()
            let leader = SyncLeader(environment: view, trim: trim, configuration: configuration, timebase: timebase,
                                    seed: seed &+ UInt64(index), logger: logger)
            let provider = SyncProvider(store: stores[index], environment: FixedEnvironment(), configuration: configuration,
                                        timebase: timebase, logger: logger)
            let requester = SyncRequester(store: stores[index], configuration: configuration, timebase: timebase,
                                          seed: seed &+ 10 &+ UInt64(index), logger: logger)
            var router = MessageRouter()
            SyncRoutes.register(leader: leader, provider: provider, requester: requester, on: &router)
            let dispatcher = Dispatcher(transport: transport, router: router, logger: logger)
            let running = Task { await dispatcher.run() }
            nodes.append(RoleNode(entity: entity, transport: transport, dispatcher: dispatcher, store: stores[index],
                                  leader: leader, provider: provider, requester: requester, view: view, trim: trim, running: running))
        }
        return RoleCluster(network: network, clock: clock, shared: shared, nodes: nodes)
    }

    /// The quorum's stores commit `versions` (the cluster keeps working while c syncs).
    func commit(_ versions: ClosedRange<UInt64>) throws {
        try commitVersions(versions, to: [a.store, b.store])
    }

    /// c runs the whole requester protocol in the background.
    func startSync() -> RunningSync {
        let c = c
        let done = LockedState(false)
        let task = Task {
            defer { done.withLock { $0 = true } }
            return try await c.requester.synchronize(targets: ["kv", "paxos"], environment: c.view, dispatcher: c.dispatcher)
        }
        return RunningSync(task: task, done: done)
    }

    func stop() async { for node in nodes { await node.stop() } }
}

/// A sync running in the background, which a test can poll without waiting on it.
struct RunningSync {
    let task: Task<SyncOutcome, any Error>
    let done: LockedState<Bool>
    var isDone: Bool { done.withLock { $0 } }
    var value: SyncOutcome { get async throws { try await task.value } }
}
