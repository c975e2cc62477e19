import Logging
import MonSyncCore
import MonSyncMessages
import MonSyncStore
@testable import MonSyncStoreSync
import Testing

/// A deterministic bench for the sync machines: one requester and a few providers (one of them
/// optionally the leader) exchange messages through a FIFO queue; when nothing is in flight, time
/// jumps to the next deadline. No tasks, no clock, no transport: every run is the same.
///
/// Faults are injected with ``filter`` (drop, duplicate, delay a message) and ``onDeliver`` (act
/// on the world as a message is delivered: commit versions, kill a provider, restart one).
final class SyncBench {
    enum Delivery { case deliver, drop, duplicate, delay }

    struct Node {
        let entity: MonitorEntity
        let address: TransportAddress
        let store: InMemoryStore
        var provider: SyncProviderMachine
        var serving = true
        var up = true
    }

    let configuration: SyncConfiguration
    let targets = ["kv", "paxos"]
    let requesterEntity: MonitorEntity
    let requesterAddress: TransportAddress
    let requesterStore: any MonitorStore
    var requester: SyncRequesterMachine
    var nodes: [Node]
    /// The node that leads (grants), if any.
    var leaderIndex: Int?
    var leader: SyncLeaderMachine
    var leaderRandom = SeededRandomNumberGenerator(seed: 7)
    var now: Duration = .zero
    var queue: [(message: MMonSync, from: TransportAddress, to: TransportAddress)] = []
    var timers: [SyncRequesterMachine.Timer: (at: Duration, generation: UInt64)] = [:]
    var result: Result<SyncOutcome, SyncFailure>?
    var filter: ((MMonSync, TransportAddress, TransportAddress) -> Delivery)?
    var onDeliver: ((MMonSync, TransportAddress, TransportAddress) -> Void)?
    /// Every message delivered to the requester, in order.
    var delivered: [MMonSync] = []
    var logger: Logger

    /// - Parameters:
    ///   - providers: how many provider nodes (`p0`, `p1`, …), each with an empty in-memory store.
    ///   - leader: the index of the node that leads and grants; `nil`: the requester copies
    ///     from the providers without a grant (no quorum).
    init(providers: Int, leader: Int? = nil, configuration: SyncConfiguration = SyncBench.configuration(),
         requesterStore: any MonitorStore = InMemoryStore(), floor: UInt64 = 0, session: UInt64 = 0x5E55) {
        self.configuration = configuration
        var logger = Logger(label: "test.sync.bench")
        logger.logLevel = .critical
        self.logger = logger
        let nodes: [Node] = (0..<providers).map { index in
            let address = try! TransportAddress("loopback://p\(index)")  // valid by construction
            let store = InMemoryStore()
            return Node(entity: MonitorEntity(rank: Int32(index), name: "p\(index)", address: "\(address)"),
                        address: address, store: store,
                        provider: SyncProviderMachine(store: store, configuration: configuration, logger: logger))
        }
        self.nodes = nodes
        requesterAddress = "loopback://r"
        requesterEntity = MonitorEntity(rank: Int32(providers), name: "r", address: "loopback://r")
        self.requesterStore = requesterStore
        leaderIndex = leader
        self.leader = SyncLeaderMachine(configuration: configuration, logger: logger)
        requester = SyncRequesterMachine(
            configuration: configuration, targets: targets,
            leader: leader.map { nodes[$0].entity }, candidates: nodes.map(\.entity),
            members: nodes.map(\.entity), session: session, floor: floor, logger: logger)
    }

    /// Small chunks, so a copy takes many; Ceph's timers.
    static func configuration(window: Int = 4) -> SyncConfiguration {
        var configuration = SyncConfiguration()
        configuration.chunkLimits = ChunkLimits(maxBytes: 2048, maxKeys: 16)
        configuration.window = window
        configuration.progressLogInterval = .zero
        return configuration
    }

    // MARK: Running

    /// Starts the sync and runs until it ends (or `maxSteps` deliveries and timer firings).
    @discardableResult
    func run(maxSteps: Int = 200_000) -> Result<SyncOutcome, SyncFailure>? {
        if case .idle = requesterPhase { feed(.begin) }
        var steps = 0
        // Until the sync ends, then until what it sent last (the final CHUNK_REPLY, FINISH) is delivered.
        while result == nil || !queue.isEmpty, steps < maxSteps {
            steps += 1
            if !queue.isEmpty {
                let item = queue.removeFirst()
                deliver(item.message, from: item.from, to: item.to)
            } else if result != nil || !advanceToNextDeadline() {
                break
            }
        }
        return result
    }

    private var requesterPhase: SyncRequesterMachine.Phase { requester.phase }

    /// Moves time to the earliest deadline (requester timers, provider sessions, leader grants) and fires it.
    private func advanceToNextDeadline() -> Bool {
        let requesterNext = timers.min { $0.value.at < $1.value.at }
        let providerNext = nodes.indices.filter { nodes[$0].up }.compactMap { index in nodes[index].provider.nextDeadline.map { (index, $0) } }
            .min { $0.1 < $1.1 }
        let leaderNext = leaderIndex == nil ? nil : leader.nextDeadline
        let candidates = [requesterNext?.value.at, providerNext?.1, leaderNext].compactMap { $0 }
        guard let next = candidates.min() else { return false }
        now = max(now, next)
        if let (timer, armed) = requesterNext, armed.at == next {
            timers[timer] = nil
            feed(.timer(timer, generation: armed.generation))
        } else if let (index, _) = providerNext, nodes[index].provider.nextDeadline == next {
            let from = nodes[index].address
            for item in nodes[index].provider.expire(now: now) { send(item.message, from: from, to: item.destination) }
        } else {
            leader.expire(now: now)
        }
        return true
    }

    func feed(_ input: SyncRequesterInput) {
        var actions = requester.step(input, now: now)[...]
        while let action = actions.popFirst() {
            do throws(StoreError) {
                try execute(action)
            } catch {
                actions = requester.step(.storeFailed(error), now: now)[...]
            }
        }
    }

    private func execute(_ action: SyncRequesterAction) throws(StoreError) {
        switch action {
        case let .send(message, destination):
            send(message, from: requesterAddress, to: destination)
        case let .arm(timer, deadline, generation):
            timers[timer] = (deadline, generation)
        case let .cancel(timer):
            timers[timer] = nil
        case .beginStaging, .stage, .commitStaging, .abandonStaging:
            _ = try action.perform(on: requesterStore)
        case let .finished(result):
            self.result = result
        }
    }

    func send(_ message: MMonSync, from sender: TransportAddress, to destination: TransportAddress) {
        switch filter?(message, sender, destination) ?? .deliver {
        case .deliver, .delay: queue.append((message, sender, destination))
        case .drop: break
        case .duplicate:
            queue.append((message, sender, destination))
            queue.append((message, sender, destination))
        }
    }

    private func deliver(_ message: MMonSync, from sender: TransportAddress, to destination: TransportAddress) {
        onDeliver?(message, sender, destination)
        if destination == requesterAddress {
            delivered.append(message)
            return feed(.message(message, from: sender))
        }
        guard let index = nodes.firstIndex(where: { $0.address == destination }), nodes[index].up else { return }
        let isMember = sender == requesterAddress || nodes.contains { $0.address == sender }
        var sends: [SyncSend] = []
        switch message.op {
        case .startChunks:
            sends = nodes[index].provider.handleStartChunks(message, from: sender, isMember: isMember,
                                                            canServe: nodes[index].serving, targets: targets, now: now)
        case .chunkReply:
            sends = nodes[index].provider.handleChunkReply(message, from: sender, now: now)
        case .abort:
            if !nodes[index].provider.handleAbort(message, from: sender), index == leaderIndex {
                _ = leader.handleAbort(message, from: sender, now: now)
            }
        case .start:
            sends = leader.handleStart(message, from: sender, context: leaderContext(at: index), random: &leaderRandom)
        case .heartbeat:
            sends = leader.handleHeartbeat(message, from: sender, context: leaderContext(at: index))
        case .finish:
            sends = leader.handleFinish(message, from: sender, context: leaderContext(at: index))
        case .startReply, .heartbeatReply, .chunk, .finishReply:
            break
        }
        for item in sends { send(item.message, from: destination, to: item.destination) }
    }

    func leaderContext(at index: Int) -> SyncLeaderMachine.Context {
        let log = PaxosLog(store: nodes[index].store)
        let members = nodes.map(\.entity) + [requesterEntity]
        return SyncLeaderMachine.Context(
            me: nodes[index].entity, isLeader: index == leaderIndex, leader: leaderIndex.map { nodes[$0].entity },
            quorum: nodes.filter(\.up).map(\.entity), members: members,
            firstCommitted: (try? log.firstCommitted()) ?? 0, lastCommitted: (try? log.lastCommitted()) ?? 0,
            trimDisabledMaxVersions: 108_000, now: now)
    }

    // MARK: Faults and checks

    /// Node `index` stops answering (its messages and those to it are lost).
    func kill(_ index: Int) { nodes[index].up = false }

    /// Node `index` restarts: its provider sessions are gone (its store is kept).
    func restart(_ index: Int) {
        nodes[index].provider = SyncProviderMachine(store: nodes[index].store, configuration: configuration, logger: logger)
        nodes[index].up = true
    }

    func digest(_ store: any MonitorStore) throws -> StoreDigest { try store.digest(of: targets) }

    /// The key-value data every version up to `version` leaves (what a copy labelled `version` must hold).
    static func kvState(at version: UInt64) throws -> StoreDigest {
        let store = InMemoryStore()
        try commitVersions(1...version, to: [store])
        return try store.digest(of: ["kv"])
    }
}

/// A logger that stays quiet (the machines log every refusal and failover at info and above).
let quietLogger: Logger = {
    var logger = Logger(label: "test.sync")
    logger.logLevel = .critical
    return logger
}()

/// Commits versions `range` to `stores` through the Paxos log: each writes a few keys, rewrites an
/// older one and erases another, so rolling forward matters.
func commitVersions(_ range: ClosedRange<UInt64>, to stores: [any MonitorStore], valueSize: Int = 200) throws {
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
