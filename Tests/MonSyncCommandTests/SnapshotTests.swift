#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// `monsync snapshot save | status | restore` against real `monsync node` processes over ZeroMQ
/// tcp with RocksDB stores: a backup taken while a client writes restores into a cluster that
/// forms a quorum with the file's digest; with keys only a backup (or monitor) key may save; a
/// provider that stops mid-backup is replaced, and a backup no monitor completes leaves no file.
@Suite("Online backup and restore with real processes", .serialized, .timeLimit(.minutes(8)))
struct SnapshotTests {
    /// `digest: sha256:… keys:N bytes:M` from a command's output.
    static func digest(in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("digest: ") }.map { String($0.dropFirst("digest: ".count)) }
    }

    /// The leader's `last_committed` as `status --json` reports it.
    static func lastCommitted(_ cluster: NodeCluster) async throws -> UInt64 {
        let rows = try await cluster.answeringRows()
        let leader = try #require(rows.values.first { $0["state"] as? String == "leader" })
        return try #require((leader["lastCommitted"] as? NSNumber)?.uint64Value)
    }

    /// Waits until `process` has written a line containing `text` to standard error; returns that line.
    static func line(of process: RunningProcess, containing text: String, within limit: Duration) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            if let line = process.stderrSoFar.split(separator: "\n").last(where: { $0.contains(text) }) { return String(line) }
            guard process.isRunning else { break }
            try await clock.sleep(for: .milliseconds(10))
        }
        throw TimedOut(what: "a line with '\(text)' from monsync \(process.arguments.joined(separator: " "))", details: process.stderrSoFar)
    }

    /// Loads the same `keys` keys into each node's store directory under `directory` (same seed: same data).
    static func preload(_ names: [String], in directory: URL, keys: Int) async throws {
        for name in names {
            let load = try await monsync(["store", "load", directory.appendingPathComponent(name).path, "--keys", "\(keys)",
                                          "--value-size", "256", "--keep", "20"], timeout: .seconds(120))
            try #require(load.status == 0, "\(load)")
        }
    }

    /// Stops every node of `cluster` with SIGTERM and waits for each.
    static func stop(_ cluster: NodeCluster) async throws {
        for node in cluster.nodes.values { node.signal(SIGTERM) }
        for (name, node) in cluster.nodes {
            let result = try await node.wait(timeout: .seconds(30))
            #expect(result.status == 0, "mon.\(name) stopped badly: \(result.stderr.suffix(2000))")
        }
    }

    @Test("a live cluster is backed up while a client writes; three stores restored from the file form a quorum with its digest")
    func backupWhileWritingThenRestore() async throws {
        try await withTemporaryDirectory { directory in
            let live = directory.appendingPathComponent("live")
            try await Self.preload(["a", "b", "c"], in: live, keys: 20_000)
            let cluster = try await NodeCluster(directory: live)
            _ = try await cluster.waitForQuorum(limit: .seconds(60))
            let writer = try await RunningProcess(["bench", "put", "--clients", "2", "--rate", "200", "--duration", "12",
                                             "--value-size", "100", "--keys", "3000", "--monmap", cluster.monmap])
            _ = try await Self.line(of: writer, containing: " ops ", within: .seconds(30))
            let before = try await Self.lastCommitted(cluster)

            let file = directory.appendingPathComponent("cluster.msnap").path
            let save = try await cluster.run(["snapshot", "save", file, "--progress-interval", "0.2"], timeout: .seconds(120))
            try #require(save.status == 0, "\(save)")
            let after = try await Self.lastCommitted(cluster)
            #expect(save.stdout.hasPrefix("saved \(file): version "), "\(save.stdout)")
            #expect(save.stderr.contains("snapshot: "), "progress on standard error: \(save.stderr)")
            let digest = try #require(Self.digest(in: save.stdout))
            let status = try await monsync(["snapshot", "status", file, "--json"])
            try #require(status.status == 0, "\(status)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let version = try #require((report["version"] as? NSNumber)?.uint64Value)
            #expect(report["valid"] as? Bool == true)
            #expect("sha256:\(report["sha256"] as? String ?? "") keys:\(report["keys"] ?? "") bytes:\(report["bytes"] ?? "")" == digest)
            #expect(before <= version && version <= after, "the snapshot is the state of a version committed during the save")
            #expect(after > before, "the client kept writing while the backup ran (lc \(before) → \(after))")
            #expect(version > 200, "the preloaded versions and the client's writes before the save are in it")
            let partials = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".partial-") }
            #expect(partials.isEmpty, "the temporary file became the file: \(partials)")
            let written = try await writer.wait(timeout: .seconds(60))
            #expect(written.status == 0, "\(written)")

            // Every monitor is lost.
            for node in cluster.nodes.values { node.signal(SIGKILL) }
            for node in cluster.nodes.values { _ = try await node.wait(timeout: .seconds(10)) }

            let restored = directory.appendingPathComponent("restored")
            let monmap = makeMonmap(["a", "b", "c"])
            for name in ["a", "b", "c"] {
                let restore = try await monsync(["snapshot", "restore", file, "--store", restored.appendingPathComponent(name).path,
                                                 "--name", name, "--monmap", monmap], timeout: .seconds(120))
                try #require(restore.status == 0, "\(restore)")
                #expect(Self.digest(in: restore.stdout) == digest)
                #expect(restore.stdout.contains("paxos: first_committed \(version), last_committed \(version)"))
            }
            let again = try await NodeCluster(directory: restored, monmap: monmap)
            _ = try await again.waitForQuorum(limit: .seconds(60))
            let read = try await again.run(["get", "key-00000042", "--timeout", "10"])
            #expect(read.status == 0, "a preloaded key reads back from the restored cluster: \(read)")
            try await Self.stop(again)
            for name in ["a", "b", "c"] {
                let stored = try await monsync(["store", "digest", restored.appendingPathComponent(name).path])
                #expect(Self.digest(in: stored.stdout) == digest, "mon.\(name): \(stored.stdout)")
                #expect(stored.stdout.contains("paxos: first_committed \(version), last_committed \(version)"), "\(stored.stdout)")
            }

            // Offline refusals: a non-empty directory, an existing file, a damaged file.
            let occupied = try await monsync(["snapshot", "restore", file, "--store", restored.appendingPathComponent("a").path,
                                              "--name", "a", "--monmap", monmap])
            #expect(occupied.status == 1 && occupied.stderr.contains("is not empty"), "\(occupied)")
            let exists = try await monsync(["snapshot", "save", file, "--monmap", monmap, "--timeout", "1"])
            #expect(exists.status == 1 && exists.stderr.contains("exists"), "\(exists)")
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[bytes.count / 2] ^= 0x01
            let damaged = directory.appendingPathComponent("damaged.msnap").path
            try Data(bytes).write(to: URL(fileURLWithPath: damaged))
            let check = try await monsync(["snapshot", "status", damaged])
            #expect(check.status == 1 && check.stderr.contains("fails its CRC32C"), "\(check)")
            let fromDamaged = try await monsync(["snapshot", "restore", damaged, "--store", directory.appendingPathComponent("x").path,
                                                 "--name", "a", "--monmap", monmap])
            #expect(fromDamaged.status == 1 && fromDamaged.stderr.contains("nothing was restored"), "\(fromDamaged)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("x").path), "no store is left behind")
        }
    }

    @Test("with CURVE keys a backup key saves a snapshot; read and write keys are refused at once (exit 5) and nothing is written")
    func backupNeedsTheBackupRole() async throws {
        try await withTemporaryDirectory { directory in
            func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
            var publicKeys: [String: String] = [:]
            for name in ["a", "b", "c", "admin", "viewer", "backup"] {
                let keygen = try await monsync(["keygen", "--out", path(name)])
                try #require(keygen.status == 0, "\(keygen)")
                publicKeys[name] = try String(contentsOfFile: path(name + ".pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try """
            a monitor \(publicKeys["a"]!)
            b monitor \(publicKeys["b"]!)
            c monitor \(publicKeys["c"]!)
            client.admin write \(publicKeys["admin"]!)
            client.viewer read \(publicKeys["viewer"]!)
            client.backup backup \(publicKeys["backup"]!)
            """.write(toFile: path("keyring"), atomically: true, encoding: .utf8)
            let monmap = makeMonmap(["a", "b", "c"])
            var nodes: [RunningProcess] = []
            for name in ["a", "b", "c"] {
                nodes.append(try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", path("store-" + name),
                                                 "--key", path(name + ".key"), "--keyring", path("keyring")] + fastTimers, plaintext: false))
            }
            defer { for node in nodes { node.signal(SIGKILL) } }
            func keys(_ name: String) -> [String] { ["--monmap", monmap, "--key", path(name + ".key"), "--keyring", path("keyring")] }
            var put: ProcessResult?
            for _ in 0..<10 where put?.status != 0 {
                put = try await monsync(["put", "color", "blue", "--timeout", "10"] + keys("admin"), plaintext: false)
            }
            try #require(put?.status == 0, "\(String(describing: put))")

            let saved = try await monsync(["snapshot", "save", path("ok.msnap")] + keys("backup"), plaintext: false, timeout: .seconds(120))
            try #require(saved.status == 0, "\(saved)")
            let status = try await monsync(["snapshot", "status", path("ok.msnap")])
            #expect(status.status == 0 && status.stdout.contains("verified"), "\(status)")

            for (name, role) in [("viewer", "read"), ("admin", "write")] {
                let refused = try await monsync(["snapshot", "save", path("\(name).msnap"), "--chunk-timeout", "20"] + keys(name),
                                                plaintext: false, timeout: .seconds(60))
                #expect(refused.status == 5, "a \(role) key: \(refused)")
                #expect(refused.stderr.contains("refused the key") && refused.stderr.contains("role backup"), "\(refused.stderr)")
                let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("\(name).msnap") }
                #expect(left.isEmpty, "nothing written for a \(role) key: \(left)")
            }
            // Without keys, a secured cluster answers nothing: exit 3 after the survey.
            let anonymous = try await monsync(["snapshot", "save", path("anonymous.msnap"), "--monmap", monmap, "--timeout", "2",
                                               "--insecure-plaintext"], plaintext: false)
            #expect(anonymous.status == 3, "\(anonymous)")
        }
    }

    @Test("a provider stopped mid-backup is left for another monitor; an interrupted backup and one no monitor completes leave no file")
    func providerStopsMidBackup() async throws {
        try await withTemporaryDirectory { directory in
            let live = directory.appendingPathComponent("live")
            try await Self.preload(["a", "b", "c"], in: live, keys: 40_000)
            // Small chunks make the stream long enough to stop a provider in the middle of it.
            let cluster = try await NodeCluster(directory: live, arguments: ["--sync-chunk-size", "4096"])
            _ = try await cluster.waitForQuorum(limit: .seconds(60))
            let file = directory.appendingPathComponent("failover.msnap").path
            let save = try await RunningProcess(["snapshot", "save", file, "--monmap", cluster.monmap, "--window", "1",
                                           "--chunk-timeout", "2", "--progress-interval", "0.05"])
            let streaming = try await Self.line(of: save, containing: "streaming mon.", within: .seconds(60))
            let provider = try #require(streaming.split(separator: " ").dropFirst(2).first.map { String($0.dropFirst(4).dropLast()) })
            let stopped = try #require(cluster.nodes[provider], "the provider named in \(streaming)")
            stopped.signal(SIGSTOP)
            let result = try await save.wait(timeout: .seconds(120))
            stopped.signal(SIGCONT)
            try #require(result.status == 0, "\(result)")
            #expect(result.stderr.contains("restarts"), "the save started over elsewhere: \(result.stderr.suffix(1500))")
            #expect(!result.stdout.contains("from mon.\(provider),"), "not from the stopped provider: \(result.stdout)")
            let status = try await monsync(["snapshot", "status", file])
            #expect(status.status == 0, "\(status)")

            // Interrupted (SIGINT) mid-stream: exit 130, and the partial file is gone too.
            let interrupted = directory.appendingPathComponent("interrupted.msnap").path
            let stopping = try await RunningProcess(["snapshot", "save", interrupted, "--monmap", cluster.monmap, "--window", "1",
                                               "--progress-interval", "0.05"])
            _ = try await Self.line(of: stopping, containing: "streaming mon.", within: .seconds(60))
            stopping.signal(SIGINT)
            let cut = try await stopping.wait(timeout: .seconds(30))
            #expect(cut.status == 130 && cut.stderr.contains("interrupted; nothing was written"), "\(cut)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("interrupted.msnap") }
            #expect(leftovers.isEmpty, "no file and no partial file: \(leftovers)")

            // Every monitor stops answering mid-stream: the save gives up with a clear error, and
            // nothing is left at the destination, not even the partial file.
            let doomed = directory.appendingPathComponent("doomed.msnap").path
            let failing = try await RunningProcess(["snapshot", "save", doomed, "--monmap", cluster.monmap, "--window", "1",
                                              "--chunk-timeout", "1", "--attempts", "3", "--progress-interval", "0.05"])
            _ = try await Self.line(of: failing, containing: "streaming mon.", within: .seconds(60))
            for node in cluster.nodes.values { node.signal(SIGSTOP) }
            let failed = try await failing.wait(timeout: .seconds(60))
            for node in cluster.nodes.values { node.signal(SIGCONT) }
            #expect(failed.status == 1, "\(failed)")
            #expect(failed.stderr.contains("no monitor streamed the whole snapshot") && failed.stderr.contains("nothing was written"),
                    "\(failed.stderr.suffix(1500))")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("doomed.msnap") }
            #expect(left.isEmpty, "no file and no partial file: \(left)")
        }
    }
}
#endif
