// The store sync's streaming phase, measured in one process: a provider streams a snapshot to a
// requester over the loopback transport; the requester stages it and swaps it in. Reported: wall
// time from START_CHUNKS to the swap, MB/s, keys/s, and the process's peak RSS growth.
//
//   swift run -c release sync-throughput [megabytes=100] [store=memory|rocksdb] [windows=1,8] [value sizes=100,1024,65536]
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

struct Environment: SyncProviderEnvironment {
    func canServeSync() async -> Bool { true }
    func syncTargets() async -> [String] { ["kv", "paxos"] }
}

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
        let provider = SyncProvider(store: providerStore, environment: Environment(), configuration: configuration,
                                    timebase: .continuous, logger: quiet)
        let requester = SyncRequester(store: requesterStore, configuration: configuration, timebase: .continuous, seed: 1, logger: quiet)
        var pRouter = MessageRouter(), rRouter = MessageRouter()
        SyncRoutes.register(provider: provider, requester: nil, on: &pRouter)
        SyncRoutes.register(provider: nil, requester: requester, on: &rRouter)
        let pDispatcher = Dispatcher(transport: pTransport, codec: .monitor(), router: pRouter, logger: quiet)
        let rDispatcher = Dispatcher(transport: rTransport, codec: .monitor(), router: rRouter, logger: quiet)
        let tasks = [Task { await pDispatcher.run() }, Task { await rDispatcher.run() }]
        let rssBefore = peakRSSMegabytes()
        // On stderr, so a profiler can attach to the sync alone (the load before it dominates otherwise).
        FileHandle.standardError.write("loaded \(keys) keys of \(valueSize) B; syncing with window \(window)\n".data(using: .utf8)!)
        let start = ContinuousClock.now
        let outcome = try await requester.synchronize(targets: ["kv", "paxos"], from: [MonitorEntity(rank: 0, name: "p", address: "\(pAddress)")],
                                                      dispatcher: rDispatcher)
        let elapsed = ContinuousClock.now - start
        FileHandle.standardError.write("synced\n".data(using: .utf8)!)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let digestsMatch = try providerStore.digest(of: ["kv", "paxos"]) == requesterStore.digest(of: ["kv", "paxos"])
        precondition(digestsMatch, "the copy differs from the provider's store")
        let bytes = Double(outcome.progress.bytes)
        print(String(format: "%10d | %6d | %9d | %7.2f | %7.1f | %10.0f | %.0f MB%@", valueSize, window, keys, seconds,
                     bytes / seconds / 1e6, Double(outcome.progress.keys) / seconds, peakRSSMegabytes() - rssBefore,
                     digestsMatch ? "" : "  DIGESTS DIFFER"))
        await pTransport.shutdown()
        await rTransport.shutdown()
        for task in tasks { await task.value }
    }
}
