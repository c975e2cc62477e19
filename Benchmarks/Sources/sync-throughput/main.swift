// The store sync's streaming phase, measured in one process: a provider streams a snapshot to a
// requester over the loopback transport; the requester stages it and swaps it in. Reported: wall
// time from START_CHUNKS to the swap, MB/s, keys/s, and the process's peak RSS growth.
//
//   swift run -c release sync-throughput [megabytes=100] [store=memory|rocksdb] [windows=1,8] [value sizes=100,1024,65536]
//
// The sync roles are the monitor's state machines (`SyncProviderMachine`, `SyncRequesterMachine`),
// run here as a monitor runs them, without the rest of the monitor: each node's dispatcher posts
// MMonSync into its machine, and the machine's actions are executed — sends through a non-blocking
// per-destination queue (as the monitor's outbox), chunks into the store's staging area, the swap.
// The requester syncs without a leader (no grant, no HEARTBEAT, no FINISH): the streaming phase alone.
//
// The issue's cross-process ZeroMQ figure is sync-cluster's; see BENCHMARKS.md, "Store sync" and
// "Store sync across processes (ZeroMQ, RocksDB)".

import Foundation
import Logging
import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync

let targets = ["kv", "paxos"]

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func makeStore(_ kind: String, _ name: String, _ directories: inout [String]) throws -> any MonitorStore {
    guard kind == "rocksdb" else { return InMemoryStore() }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-bench-\(getpid())-\(name)").path
    try? FileManager.default.removeItem(atPath: path)
    directories.append(path)
    return try RocksDBStore(path: path)
}

/// Loads `bytes` of values of `valueSize` into `store` through its Paxos log.
func load(_ store: any MonitorStore, bytes: Int, valueSize: Int) throws -> Int {
    let keys = max(1, bytes / valueSize)
    let perVersion = max(1, (4 << 20) / valueSize)
    var rng = SeededRandomNumberGenerator(seed: 7)
    var written = 0
    var version: UInt64 = 0
    while written < keys {
        var transaction = StoreTransaction()
        for _ in 0..<min(perVersion, keys - written) {
            transaction.put("kv", String(format: "key-%010d", written), rng.bytes(count: valueSize))
            written += 1
        }
        version += 1
        try PaxosLog(store: store).commit(version: version, transaction)
    }
    return keys
}

/// Sends without making the sender wait: one FIFO queue and one draining task per destination,
/// as the monitor's `PeerOutbox` does.
final class Outbox: Sendable {
    private struct State {
        var queues: [TransportAddress: AsyncStream<MMonSync>.Continuation] = [:]
        var tasks: [Task<Void, Never>] = []
    }

    private let dispatcher: Dispatcher
    private let state = LockedState(State())

    init(dispatcher: Dispatcher) { self.dispatcher = dispatcher }

    func send(_ message: MMonSync, to destination: TransportAddress) {
        state.withLock { state in
            if state.queues[destination] == nil {
                let (stream, continuation) = AsyncStream.makeStream(of: MMonSync.self)
                state.queues[destination] = continuation
                state.tasks.append(Task { [dispatcher] in
                    for await message in stream { try? await dispatcher.send(message, to: destination) }
                })
            }
            state.queues[destination]!.yield(message)
        }
    }

    /// Ends every queue once drained, and waits for the draining tasks.
    func close() async {
        let tasks = state.withLock { state in
            for continuation in state.queues.values { continuation.finish() }
            return state.tasks
        }
        for task in tasks { await task.value }
    }
}

/// The provider's side: the machine the monitor's step runs, here behind a lock, fed by the dispatcher.
final class ProviderNode: Sendable {
    private let machine: LockedState<SyncProviderMachine>
    private let outbox: Outbox
    private let timebase: Timebase

    init(machine: SyncProviderMachine, outbox: Outbox, timebase: Timebase) {
        self.machine = LockedState(machine)
        self.outbox = outbox
        self.timebase = timebase
    }

    func register(on router: inout MessageRouter) {
        router.register(.startChunks) { [self] message, context in
            let sends = machine.withLock {
                $0.handleStartChunks(message, from: context.sender, isMember: true, canServe: true, targets: targets,
                                     now: timebase.now)
            }
            for send in sends { outbox.send(send.message, to: send.destination) }
        }
        router.register(.chunkReply) { [self] message, context in
            let sends = machine.withLock { $0.handleChunkReply(message, from: context.sender, now: timebase.now) }
            for send in sends { outbox.send(send.message, to: send.destination) }
        }
        router.register(.abort) { [self] message, context in
            _ = machine.withLock { $0.handleAbort(message, from: context.sender) }
        }
    }
}

/// The requester's side: a minimal `SyncRequesterDriver` (internal to MonSyncMonitor). The dispatcher
/// posts the requester's messages to a queue; the run loop steps the machine and executes its actions.
final class RequesterNode: Sendable {
    enum Event: Sendable {
        case message(MMonSync, TransportAddress)
        case timer(SyncRequesterMachine.Timer, UInt64)
    }

    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let store: any MonitorStore
    private let outbox: Outbox
    private let timebase: Timebase

    init(store: any MonitorStore, outbox: Outbox, timebase: Timebase) {
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        self.store = store
        self.outbox = outbox
        self.timebase = timebase
    }

    func register(on router: inout MessageRouter) {
        for op in [MMonSync.Op.startReply, .heartbeatReply, .chunk, .finishReply, .abort] {
            router.register(op) { [continuation] message, context in continuation.yield(.message(message, context.sender)) }
        }
    }

    /// Runs `machine` to its end.
    func run(_ machine: SyncRequesterMachine) async -> Result<SyncOutcome, SyncFailure> {
        var machine = machine
        var timers: [SyncRequesterMachine.Timer: Task<Void, Never>] = [:]
        defer { for task in timers.values { task.cancel() } }
        var actions = machine.step(.begin, now: timebase.now)[...]
        var iterator = events.makeAsyncIterator()
        while true {
            while let action = actions.popFirst() {
                do throws(StoreError) {
                    switch action {
                    case let .send(message, destination):
                        outbox.send(message, to: destination)
                    case let .arm(timer, deadline, generation):
                        timers[timer]?.cancel()
                        timers[timer] = Task { [timebase, continuation] in
                            guard (try? await timebase.sleep(until: deadline)) != nil else { return }
                            continuation.yield(.timer(timer, generation))
                        }
                    case let .cancel(timer):
                        timers.removeValue(forKey: timer)?.cancel()
                    case .beginStaging, .stage, .commitStaging, .abandonStaging:
                        _ = try action.perform(on: store)
                    case let .finished(result):
                        return result
                    }
                } catch {
                    actions = machine.step(.storeFailed(error), now: timebase.now)[...]
                }
            }
            switch await iterator.next() {
            case let .message(message, sender)?: actions = machine.step(.message(message, from: sender), now: timebase.now)[...]
            case let .timer(timer, generation)?: actions = machine.step(.timer(timer, generation: generation), now: timebase.now)[...]
            case nil: actions = machine.step(.cancel, now: timebase.now)[...]
            }
        }
    }
}

let arguments = CommandLine.arguments
let megabytes = arguments.count > 1 ? Int(arguments[1]) ?? 100 : 100
let storeKind = arguments.count > 2 ? arguments[2] : "memory"
let windows = arguments.count > 3 ? arguments[3].split(separator: ",").compactMap { Int($0) } : [1, 8]
let valueSizes = arguments.count > 4 ? arguments[4].split(separator: ",").compactMap { Int($0) } : [100, 1024, 64 * 1024]
var quiet = Logger(label: "bench")
quiet.logLevel = .critical

print("sync streaming phase, \(megabytes) MB per case, \(storeKind) stores, loopback transport, release build")
print("value size | window | keys      | seconds | MB/s    | keys/s     | peak RSS growth")
for valueSize in valueSizes {
    for window in windows {
        var directories: [String] = []
        defer { for path in directories { try? FileManager.default.removeItem(atPath: path) } }
        let providerStore = try makeStore(storeKind, "p", &directories)
        let requesterStore = try makeStore(storeKind, "r", &directories)
        let keys = try load(providerStore, bytes: megabytes * 1_000_000, valueSize: valueSize)
        var configuration = SyncConfiguration()
        configuration.window = window
        let network = LoopbackNetwork()
        let pAddress: TransportAddress = "loopback://p", rAddress: TransportAddress = "loopback://r"
        let pTransport = LoopbackTransport(address: pAddress, network: network)
        let rTransport = LoopbackTransport(address: rAddress, network: network)
        try await pTransport.start()
        try await rTransport.start()
        let timebase = Timebase.continuous
        let pDispatcher = Dispatcher(transport: pTransport, codec: .monitor(), logger: quiet)
        let rDispatcher = Dispatcher(transport: rTransport, codec: .monitor(), logger: quiet)
        let pOutbox = Outbox(dispatcher: pDispatcher), rOutbox = Outbox(dispatcher: rDispatcher)
        let provider = ProviderNode(machine: SyncProviderMachine(store: providerStore, configuration: configuration, logger: quiet),
                                    outbox: pOutbox, timebase: timebase)
        let requester = RequesterNode(store: requesterStore, outbox: rOutbox, timebase: timebase)
        pDispatcher.register { provider.register(on: &$0) }
        rDispatcher.register { requester.register(on: &$0) }
        let tasks = [Task { await pDispatcher.run() }, Task { await rDispatcher.run() }]
        // No leader: the requester streams from the provider at once (the streaming phase alone).
        let providerEntity = MonitorEntity(rank: 0, name: "p", address: "\(pAddress)")
        let machine = SyncRequesterMachine(configuration: configuration, targets: targets, leader: nil,
                                           candidates: [providerEntity], members: [providerEntity], session: 1, floor: 0,
                                           logger: quiet)
        let rssBefore = peakRSSMegabytes()
        // On stderr, so a profiler can attach to the sync alone (the load before it dominates otherwise).
        FileHandle.standardError.write("loaded \(keys) keys of \(valueSize) B; syncing with window \(window)\n".data(using: .utf8)!)
        let start = ContinuousClock.now
        let outcome = try await requester.run(machine).get()
        let elapsed = ContinuousClock.now - start
        FileHandle.standardError.write("synced\n".data(using: .utf8)!)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let digestsMatch = try providerStore.digest(of: targets) == requesterStore.digest(of: targets)
        precondition(digestsMatch, "the copy differs from the provider's store")
        let bytes = Double(outcome.progress.bytes)
        print(String(format: "%10d | %6d | %9d | %7.2f | %7.1f | %10.0f | %.0f MB%@", valueSize, window, keys, seconds,
                     bytes / seconds / 1e6, Double(outcome.progress.keys) / seconds, peakRSSMegabytes() - rssBefore,
                     digestsMatch ? "" : "  DIGESTS DIFFER"))
        await rOutbox.close()
        await pOutbox.close()
        // The routes hold the provider, which holds its outbox and so the dispatcher: clear them, as a
        // monitor does when it stops, so the stores close before the next case opens them again.
        pDispatcher.register { $0 = MessageRouter() }
        rDispatcher.register { $0 = MessageRouter() }
        await pTransport.shutdown()
        await rTransport.shutdown()
        for task in tasks { await task.value }
    }
}
