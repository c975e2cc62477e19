import MonSyncCore
import MonSyncLoopback
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync
import MonSyncTestSupport
import Testing

// The code of the article RunningAStoreSync.md in MonSyncMonitor.docc. The blocks there are copies
// of the marked lines: change both.

/// The article: three monitors, one of them empty, and the sync that brings it in.
func runStoreSyncArticle() async throws -> [Monitor] {
    // snippet: sync-cluster
    let network = LoopbackNetwork()
    let monmap = try MonMap(parsing: "a=loopback://a,b=loopback://b,c=loopback://c")
    let stores = [InMemoryStore(), InMemoryStore(), InMemoryStore()]

    // a and b commit 40 versions and trim the log to the last 20: c's empty log ends long before.
    for version in UInt64(1)...40 {
        var transaction = StoreTransaction()
        transaction.put(KeyValueService.prefix, "key-\(version)", Array(repeating: UInt8(version), count: 1024))
        for store in stores.prefix(2) { try PaxosLog(store: store).commit(version: version, transaction) }
    }
    for store in stores.prefix(2) { try PaxosLog(store: store).trim(to: 21) }

    var syncConfiguration = SyncConfiguration()
    syncConfiguration.window = 16                                   // chunks in flight
    syncConfiguration.chunkLimits = ChunkLimits(maxBytes: 4096)     // small chunks, to see several
    var monitors: [Monitor] = []
    for (index, member) in monmap.members.enumerated() {
        let transport = LoopbackTransport(address: try TransportAddress(member.address), network: network)
        let monitor = try Monitor(monmap: monmap, name: member.name, transport: transport,
                                  store: stores[index], syncConfiguration: syncConfiguration)
        try await monitor.start()
        monitors.append(monitor)
    }
    // snippet: end

    // snippet: sync-watch
    let c = monitors[2]
    while c.syncResults.isEmpty {
        if let progress = c.syncProgress { print(progress) }   // phase, chunks, keys, bytes, rate, eta
        try await Task.sleep(for: .milliseconds(100))
    }
    switch c.syncResults.last {
    case .success(let outcome)?:
        print("copied version \(outcome.version): \(outcome.progress.keys) keys in \(outcome.progress.chunks) chunks")
    case .failure(let failure)?:
        print("sync failed: \(failure); the live data is untouched and c probes again")
    case nil:
        break
    }
    // snippet: end
    return monitors
}

@Suite("Documentation: running a store sync")
struct RunningAStoreSyncSnippetTests {
    @Test("the article's empty monitor syncs, rejoins, and ends with the same digest as the others", .timeLimit(.minutes(2)))
    func emptyMonitorSyncs() async throws {
        let monitors = try await runStoreSyncArticle()
        let c = monitors[2]
        guard case let .success(outcome)? = c.syncResults.first else {
            Issue.record("c's first sync did not succeed: \(c.syncResults)")
            for monitor in monitors { await monitor.stop() }
            return
        }
        #expect(outcome.version >= 40, "c copied at least what a and b held")
        #expect(outcome.progress.chunks > 1, "4 KiB chunks make several")
        try await eventually("c rejoins and all three reach one version", timeout: .seconds(60), polling: .milliseconds(50)) {
            var versions = Set<UInt64>()
            for monitor in monitors {
                guard await monitor.status.state.isInQuorum else { return false }
                versions.insert(await monitor.lastCommitted)
            }
            return versions.count == 1
        }
        var digests = Set<StoreDigest>()
        for monitor in monitors { digests.insert(try await monitor.digest()) }
        #expect(digests.count == 1, "the three stores are identical")
        for monitor in monitors { await monitor.stop() }
    }
}
