import Foundation
import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync

/// The three-node sync behind `monsync demo`.
struct ThreeNodeSyncDemo {
    let keys: Int
    let valueSize: Int
    let writeRate: Int
    let window: Int
    let chunkSize: Int
    let storeKind: DemoStoreKind
    let seed: UInt64
    let timeout: Duration

    static let names = ["a", "b", "c"]
    /// Versions the quorum keeps after the initial load (c's empty log is far below them).
    static let retained: UInt64 = 20

    func run() async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let network = LoopbackNetwork(seed: seed)
        let monmap = try MonMap(named: Self.names.map { ($0, "loopback://mon.\($0)") })
        var directories: [String] = []
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        var stores: [any MonitorStore] = []
        for name in Self.names {
            switch storeKind {
            case .memory:
                stores.append(InMemoryStore())
            case .rocksdb:
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-demo-\(getpid())-\(name)").path
                try? FileManager.default.removeItem(atPath: directory)
                directories.append(directory)
                stores.append(try RocksDBStore(path: directory))
            }
        }

        say("MonSync demo: three monitors over the loopback transport, \(storeKind.rawValue) stores")
        say("  load: \(keys) keys × \(valueSize) B on a and b; writes during sync: \(writeRate)/s; window \(window), chunks ≤ \(chunkSize) B")
        let loadStarted = clock.now
        let loaded = try load(into: [stores[0], stores[1]])
        say("[setup] a and b hold \(loaded.versions) Paxos versions (\(mib(loaded.bytes)) MiB), trimmed to keep the last \(Self.retained): fc \(loaded.firstCommitted), lc \(loaded.lastCommitted) (\(seconds(clock.now - loadStarted)))")

        var syncConfiguration = SyncConfiguration()
        syncConfiguration.window = window
        syncConfiguration.chunkLimits = ChunkLimits(maxBytes: chunkSize)
        var logger = Logger(label: "monsync.demo")
        logger.logLevel = .info
        var nodes: [Monitor] = []
        func startNode(_ index: Int) async throws {
            let member = monmap.members[index]
            let transport = LoopbackTransport(address: try TransportAddress(member.address), network: network)
            let monitor = try Monitor(monmap: monmap, name: member.name, transport: transport, store: stores[index],
                                      syncConfiguration: syncConfiguration, seed: seed &+ UInt64(index),
                                      logger: Logger(label: "monsync.mon.\(member.name)"))
            try await monitor.start()
            nodes.append(monitor)
        }
        try await startNode(0)
        try await startNode(1)
        guard try await waitUntil(deadline, { await inQuorum(nodes, [0, 1]) }) else {
            return fail("a and b did not form a quorum in time", nodes: nodes)
        }
        let leaderRank = await nodes[0].status.leader ?? 0
        say("[election] quorum [a, b], leader mon.\(Self.names[Int(leaderRank)])")
        // A leader elected without every monitor first waits out any lease its predecessor may
        // still hold (docs/MONITOR.md, "The read guarantee"); the client starts once it serves.
        let elected = clock.now
        guard try await waitUntil(deadline, { await nodes[Int(leaderRank)].isReadable }) else {
            return fail("the leader did not start serving in time", nodes: nodes)
        }
        say("[election] mon.\(Self.names[Int(leaderRank)]) serves after \(seconds(elected.duration(to: clock.now))) (one lease: c, absent, might have led before)")

        // A client keeps writing while c syncs.
        let client = MonitorClient(transport: LoopbackTransport(address: "loopback://client.demo", network: network),
                                   monmap: monmap, clientID: 0xDE30, logger: Logger(label: "monsync.client"))
        try await client.start()
        let writes = LockedState((acknowledged: 0, failed: 0))
        let writer = Task {
            guard writeRate > 0 else { return }
            var index = 0
            while !Task.isCancelled {
                let started = ContinuousClock.now
                do {
                    _ = try await client.put("live-\(index)", Array("written during the sync #\(index)".utf8), timeout: .seconds(10))
                    writes.withLock { $0.acknowledged += 1 }
                } catch { writes.withLock { $0.failed += 1 } }
                index += 1
                let pause = Duration.seconds(1) / writeRate - (ContinuousClock.now - started)
                if pause > .zero { try? await Task.sleep(for: pause) }
            }
        }

        say("[c] starts with an empty store (lc 0 < fc \(loaded.firstCommitted) - 1: Paxos alone cannot catch it up)")
        let syncStarted = clock.now
        try await startNode(2)
        let c = nodes[2]
        var lastPhase: SyncProgress.Phase = .idle
        var lastLine = ""
        var lastDecile = -1
        let interactive = isatty(STDOUT_FILENO) != 0
        let succeeded = try await waitUntil(deadline) {
            let progress = c.syncProgress ?? SyncProgress()
            if progress.phase != lastPhase {
                if !lastLine.isEmpty { FileHandle.standardOutput.write("\n".data(using: .utf8)!); lastLine = "" }
                await narrate(progress.phase, progress: progress, nodes: nodes)
                lastPhase = progress.phase
            }
            if progress.phase == .streaming {
                let line = bar(progress, total: loaded.bytes)
                if interactive, line != lastLine {
                    FileHandle.standardOutput.write(("\r" + line).data(using: .utf8)!)
                    lastLine = line
                } else if !interactive, Int(progress.bytes) * 10 / max(loaded.bytes, 1) > lastDecile {
                    // Not a terminal: one line per tenth instead of a redrawn bar.
                    lastDecile = Int(progress.bytes) * 10 / max(loaded.bytes, 1)
                    say(line)
                }
            }
            return await inQuorum(nodes, [0, 1, 2])
        }
        if !lastLine.isEmpty { FileHandle.standardOutput.write("\n".data(using: .utf8)!) }
        writer.cancel()
        await writer.value
        guard succeeded else { return fail("c did not rejoin the quorum in time (\(c.syncProgress.map { "\($0)" } ?? "no sync"))", nodes: nodes) }
        let syncTime = clock.now - syncStarted
        say("[c] rejoined: quorum [a, b, c] after \(seconds(syncTime)) from its start")

        // No more writes (a cancelled put may still have copies in flight: the client sends each to
        // every monitor, and a peon forwards its copy). Let every member reach the same version and
        // stay there for a second — nothing proposed meanwhile — then compare the stores: a store
        // read while a proposal is accepted by some and not yet by others would differ by it.
        await client.shutdown()
        var settled: (version: UInt64, since: ContinuousClock.Instant)?
        guard try await waitUntil(deadline, {
            var versions = Set<UInt64>()
            for node in nodes { versions.insert(await node.lastCommitted) }
            guard versions.count == 1, let version = versions.first else { settled = nil; return false }
            if settled?.version != version { settled = (version, clock.now) }
            return clock.now - settled!.since >= .seconds(1)
        }) else { return fail("the monitors did not reach the same version", nodes: nodes) }

        let results = c.syncResults
        if case let .success(outcome)? = results.last {
            let p = outcome.progress
            let rate = p.rate / 1_048_576
            say("[sync] copied \(p.keys) keys, \(mib(Int(p.bytes))) MiB in \(p.chunks) chunks in \(seconds(p.elapsed)) — \(String(format: "%.1f", rate)) MiB/s, \(Int(Double(p.keys) / max(p.elapsed.seconds, 1e-9))) keys/s; snapshot version \(outcome.version); provider's size estimate \(mib(Int(p.estimatedBytes))) MiB; provider switches \(p.providerSwitches), stale messages \(p.staleMessages)")
        }
        let counts = writes.withLock { $0 }
        say("[writes] \(counts.acknowledged) client writes acknowledged during the sync, \(counts.failed) refused (elections)")
        var digests: [StoreDigest] = []
        for (index, node) in nodes.enumerated() {
            let digest = try await node.digest()
            digests.append(digest)
            let status = await node.status
            say("  mon.\(Self.names[index])  \(status.state)  fc \(status.firstCommitted)  lc \(status.lastCommitted)  \(digest)")
        }
        for node in nodes { await node.stop() }
        let match = Set(digests).count == 1
        say(match ? "OK: all three stores are identical" : "FAILED: the stores differ")
        return match
    }

    // MARK: - Steps

    struct Loaded {
        var versions: UInt64
        var firstCommitted: UInt64
        var lastCommitted: UInt64
        var bytes: Int
    }

    /// Loads the same data into the quorum's stores through their Paxos logs, then trims the logs.
    func load(into stores: [any MonitorStore]) throws -> Loaded {
        var rng = SeededRandomNumberGenerator(seed: seed)
        let perVersion = max(1, min(keys, (4 << 20) / max(valueSize, 1)))
        var version: UInt64 = 0
        var written = 0
        var bytes = 0
        while written < keys {
            var transaction = StoreTransaction()
            for _ in 0..<min(perVersion, keys - written) {
                transaction.put(KeyValueService.prefix, String(format: "key-%09d", written), rng.bytes(count: valueSize))
                written += 1
                bytes += valueSize
            }
            version += 1
            for store in stores { try PaxosLog(store: store).commit(version: version, transaction) }
        }
        // Pad with small versions so the log is long enough to trim, as a busy cluster's would be.
        while version < Self.retained * 2 {
            version += 1
            var transaction = StoreTransaction()
            transaction.put(KeyValueService.prefix, "padding-\(version)", [UInt8(truncatingIfNeeded: version)])
            for store in stores { try PaxosLog(store: store).commit(version: version, transaction) }
        }
        let first = version - Self.retained + 1
        for store in stores { try PaxosLog(store: store).trim(to: first) }
        return Loaded(versions: version, firstCommitted: first, lastCommitted: version, bytes: bytes)
    }

    private func narrate(_ phase: SyncProgress.Phase, progress: SyncProgress, nodes: [Monitor]) async {
        switch phase {
        case .requesting:
            say("[c] probed the quorum: oblivious → requester: START to the leader")
        case .streaming:
            let leaderStats = await nodes[0].syncLeaderStatistics
            let granter = leaderStats.accepted > 0 ? "a" : "b"
            say("[leader \(granter)] granted the sync and holds Paxos trim; [c] streams from provider \(progress.provider)")
        case .swapping:
            say("[c] last chunk received; rolling forward and swapping the copy in atomically")
        case .done:
            say("[c] swap done; FINISH to the leader; rejoining through an election and Paxos recovery")
        case .failed:
            say("[c] the sync failed: \(progress); live data unchanged, probing again")
        case .idle:
            break
        }
    }

    private func bar(_ progress: SyncProgress, total: Int) -> String {
        let fraction = total > 0 ? min(1, Double(progress.bytes) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = progress.rate / 1_048_576
        var line = "  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        line += String(format: " %3.0f%%  %@ MiB  %llu keys  %llu chunks  %.1f MiB/s", fraction * 100,
                       mib(Int(progress.bytes)), progress.keys, progress.chunks, rate)
        if rate > 0, total > Int(progress.bytes) {
            line += String(format: "  eta %.1f s", Double(total - Int(progress.bytes)) / progress.rate)
        }
        return line
    }

    private func inQuorum(_ monitors: [Monitor], _ ranks: [Int32]) async -> Bool {
        guard monitors.count >= ranks.count else { return false }
        for rank in ranks {
            let status = await monitors[Int(rank)].status
            guard status.state.isInQuorum, status.quorum == ranks else { return false }
        }
        return true
    }

    /// Polls `condition` every 50 ms until it holds (true) or `deadline` passes (false).
    private func waitUntil(_ deadline: ContinuousClock.Instant, _ condition: () async -> Bool) async throws -> Bool {
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    private func fail(_ reason: String, nodes: [Monitor]) -> Bool {
        say("FAILED: \(reason)")
        return false
    }

    /// Unbuffered, so lines and the progress bar (also written straight to stdout) keep their order in a pipe.
    private func say(_ line: String) { FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!) }
    private func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
    private func seconds(_ duration: Duration) -> String { String(format: "%.2f s", duration.seconds) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
