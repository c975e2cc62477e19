#if ZeroMQ
import Foundation
import Logging
import MonSyncChildProcess
import MonSyncCore
import MonSyncMessages
import MonSyncMonitor
import MonSyncStore
import MonSyncZeroMQ

/// `monsync demo --transport zmq`: the same three-node sync, as three `monsync node` processes over
/// ZeroMQ on 127.0.0.1 with RocksDB stores, every link authenticated and encrypted (CURVE keys made
/// for the run: one per monitor and one `write` key for the demo's client).
///
/// a's and b's stores are loaded offline (the same way as the in-process demo), the processes start,
/// a client in this process writes while c — started empty — syncs, and the three stores are compared
/// offline once the processes have stopped.
struct ZeroMQProcessDemo {
    let base: ThreeNodeSyncDemo

    func run() async throws -> Bool {
        let started = ContinuousClock.now
        let deadline = started + base.timeout
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-demo-zmq-\(getpid())").path
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let names = ThreeNodeSyncDemo.names
        let ports = names.map { _ in ClientEndpoint.freeTCPPort(on: "127.0.0.1") }
        let monmapText = zip(names, ports).map { "\($0)=tcp://127.0.0.1:\($1)" }.joined(separator: ",")
        let monmap = try MonMap(parsing: monmapText)
        let directories = names.map { "\(work)/\($0)" }

        say("MonSync demo: three monsync node processes over ZeroMQ on 127.0.0.1 with CURVE keys, RocksDB stores in \(work)")
        let keys = try DemoKeys(names: names, monmap: monmap, directory: work)
        let loaded = try {
            let stores: [any MonitorStore] = try [RocksDBStore(path: directories[0]), RocksDBStore(path: directories[1])]
            return try base.load(into: stores)
        }()
        say("[setup] a and b hold \(loaded.versions) Paxos versions (\(mib(loaded.bytes)) MiB), trimmed: fc \(loaded.firstCommitted), lc \(loaded.lastCommitted)")

        var processes: [String: ChildProcess] = [:]
        defer {
            for process in processes.values { process.signal(SIGTERM) }
        }
        func spawn(_ index: Int) async throws {
            let log = "\(work)/\(names[index]).log"
            let process = try await ChildProcess.start(
                executable,
                arguments: ["node", "--name", names[index], "--monmap", monmapText, "--store", directories[index],
                            "--log-level", "warning", "--sync-window", "\(base.window)", "--sync-chunk-size", "\(base.chunkSize)",
                            "--key", keys.secretKeyPath(of: names[index]), "--keyring", keys.keyringPath],
                standardOutput: .file(log), standardError: .file(log))
            processes[names[index]] = process
            say("[\(names[index])] started: pid \(process.processIdentifier), \(monmap.members[index].address)")
        }
        try await spawn(0)
        try await spawn(1)

        var logger = Logger(label: "monsync.demo.client")
        logger.logLevel = .critical
        var registry = TransportRegistry()
        registry.register(ZeroMQTransportFactory(configuration: ZeroMQConfiguration(security: keys.clientSecurity), logger: logger))
        let clientAddress = try ClientEndpoint.address(towards: monmap.address(of: 0)!)
        let client = MonitorClient(transport: try registry.makeTransport(listeningOn: clientAddress, options: TransportOptions(sendTimeout: .seconds(5))),
                                   monmap: monmap, retryInterval: .milliseconds(200), logger: logger)
        try await client.start()
        defer { Task { await client.shutdown() } }

        func status(_ rank: Int32) async -> MonitorStatus? { await client.status(of: rank, timeout: .seconds(1)) }
        func inQuorum(_ ranks: [Int32]) async -> Bool {
            for rank in ranks {
                guard let s = await status(rank), s.state.isInQuorum, s.quorum == ranks else { return false }
            }
            return true
        }
        guard try await wait(until: deadline, { await inQuorum([0, 1]) }) else {
            say("FAILED: a and b did not form a quorum in time (logs in \(work))")
            return false
        }
        say("[election] quorum [a, b]")

        let writes = LockedState((acknowledged: 0, failed: 0))
        let writer = Task {
            guard base.writeRate > 0 else { return }
            var index = 0
            while !Task.isCancelled {
                let began = ContinuousClock.now
                do {
                    _ = try await client.put("live-\(index)", Array("written during the sync #\(index)".utf8), timeout: .seconds(10))
                    writes.withLock { $0.acknowledged += 1 }
                } catch { writes.withLock { $0.failed += 1 } }
                index += 1
                let pause = Duration.seconds(1) / base.writeRate - (ContinuousClock.now - began)
                if pause > .zero { try? await Task.sleep(for: pause) }
            }
        }

        say("[c] starts with an empty store")
        let syncStarted = ContinuousClock.now
        try await spawn(2)
        var lastState: MonitorState?
        let joined = try await wait(until: deadline) {
            if let s = await status(2), s.state != lastState {
                say("[c] \(s.state)  (fc \(s.firstCommitted), lc \(s.lastCommitted))")
                lastState = s.state
            }
            guard await inQuorum([0, 1, 2]) else { return false }
            return await status(2)?.lastCommitted == status(0)?.lastCommitted
        }
        writer.cancel()
        await writer.value
        guard joined else {
            say("FAILED: c did not sync and rejoin in time (logs in \(work))")
            return false
        }
        say("[c] rejoined: quorum [a, b, c] after \(String(format: "%.2f s", (ContinuousClock.now - syncStarted).seconds)) from its start")
        let counts = writes.withLock { $0 }
        say("[writes] \(counts.acknowledged) client writes acknowledged during the sync, \(counts.failed) refused")
        if let line = try? String(contentsOfFile: "\(work)/c.log", encoding: .utf8).split(separator: "\n")
            .first(where: { $0.contains("store sync finished") }) {
            say("[c] \(line.components(separatedBy: "progress=").last.map { "sync: " + $0 } ?? String(line))")
        }
        // Give the last commits a moment to reach every member, then stop the processes and compare offline.
        try await Task.sleep(for: .seconds(1))
        for (name, process) in processes.sorted(by: { $0.key < $1.key }) {
            process.signal(SIGTERM)
            let termination = try await process.wait(timeout: .seconds(30))
            say("[\(name)] stopped: \(termination)")
        }
        var digests: [StoreDigest] = []
        for (index, directory) in directories.enumerated() {
            let store = try RocksDBStore(path: directory)
            let digest = try store.digest(of: StoreCommand.syncTargets)
            digests.append(digest)
            let log = PaxosLog(store: store)
            say("  mon.\(names[index])  fc \(try log.firstCommitted())  lc \(try log.lastCommitted())  \(digest)")
        }
        let match = Set(digests).count == 1
        say(match ? "OK: all three stores are identical" : "FAILED: the stores differ (kept in \(work))")
        if match { try? FileManager.default.removeItem(atPath: work) }
        return match
    }

    private func wait(until deadline: ContinuousClock.Instant, _ condition: () async -> Bool) async throws -> Bool {
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return await condition()
    }

    private func say(_ line: String) { FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!) }
    private func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
#endif
