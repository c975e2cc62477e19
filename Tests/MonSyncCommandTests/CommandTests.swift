import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// The `monsync` binary run as real processes: each subcommand's happy path and the errors people meet.
@Suite("monsync command", .serialized, .timeLimit(.minutes(2)))
struct CommandTests {
    @Test("--help of every subcommand exits 0", arguments: [
        ["--help"], ["node", "--help"], ["put", "--help"], ["get", "--help"], ["delete", "--help"], ["list", "--help"],
        ["status", "--help"], ["health", "--help"], ["store", "--help"], ["store", "digest", "--help"], ["store", "dump", "--help"],
        ["store", "load", "--help"], ["snapshot", "--help"], ["snapshot", "save", "--help"], ["snapshot", "status", "--help"],
        ["snapshot", "restore", "--help"],
    ])
    func help(_ arguments: [String]) async throws {
        let result = try await monsync(arguments)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE: monsync"), "\(result)")
    }

    @Test("node --help shows every timer with Ceph's default")
    func nodeHelpShowsDefaults() async throws {
        let help = try await monsync(["node", "--help"]).stdout
        for flag in ["--lease <s>", "--election-timeout", "--probe-timeout", "--paxos-min", "--sync-window",
                     "--sync-chunk-size", "--sync-trim-timeout", "--sync-heartbeat-timeout", "--sync-chunk-timeout"] {
            #expect(help.contains(flag), "\(flag) missing from node --help")
        }
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("(mon_lease). (default: 5.0)"))
        #expect(flat.contains("(paxos_min). (default: 500)"))
    }

    @Test("a wrong flag is ArgumentParser's usage error (exit 64)")
    func wrongFlag() async throws {
        let result = try await monsync(["status", "--monmapp", "a=tcp://127.0.0.1:1"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("Unknown option '--monmapp'"), "\(result)")
    }

    @Test("store load, digest and dump on a temporary directory")
    func storeOffline() async throws {
        try await withTemporaryDirectory { directory in
            let one = directory.appendingPathComponent("one").path, two = directory.appendingPathComponent("two").path
            let load = try await monsync(["store", "load", one, "--keys", "250", "--value-size", "32", "--batch", "100", "--seed", "7"])
            #expect(load.status == 0, "\(load)")
            #expect(load.stdout.contains("loaded 250 keys of 32 bytes under kv into \(one) as versions 1...3"), "\(load)")
            _ = try await monsync(["store", "load", two, "--keys", "250", "--value-size", "32", "--batch", "100", "--seed", "7"])

            let digestOne = try await monsync(["store", "digest", one])
            let digestTwo = try await monsync(["store", "digest", two])
            #expect(digestOne.status == 0, "\(digestOne)")
            #expect(digestOne.stdout.contains("paxos: first_committed 1, last_committed 3"), "\(digestOne)")
            let line = try #require(digestOne.stdout.split(separator: "\n").first { $0.hasPrefix("digest: sha256:") })
            #expect(digestTwo.stdout.contains(line), "the same seed gives the same store")

            let json = try await monsync(["store", "digest", one, "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["lastCommitted"] as? Int == 3)
            #expect(object["keys"] as? Int == 256, "250 values, 3 log entries, the log's two bounds and the required monitor features")

            let dump = try await monsync(["store", "dump", one, "--prefix", "kv", "--limit", "3"])
            #expect(dump.status == 0, "\(dump)")
            let lines = dump.stdout.split(separator: "\n")
            #expect(lines.count == 3, "\(dump)")
            #expect(lines.first?.hasPrefix("kv/key-00000000 = 0x") == true, "\(dump)")

            // More versions go after last_committed; --keep trims the log.
            let more = try await monsync(["store", "load", one, "--keys", "50", "--value-size", "8", "--prefix", "extra", "--keep", "2"])
            #expect(more.stdout.contains("as versions 4...4"), "\(more)")
            #expect(more.stdout.contains("paxos: first_committed 3, last_committed 4"), "\(more)")
        }
    }

    @Test("store commands on a directory with no store say so and create nothing")
    func storeMissing() async throws {
        try await withTemporaryDirectory { directory in
            let missing = directory.appendingPathComponent("missing").path
            for command in [["store", "digest", missing], ["store", "dump", missing]] {
                let result = try await monsync(command)
                #expect(result.status == 1, "\(result)")
                #expect(result.errorLines == ["Error: there is no store in \(missing); give the directory of a node's store, or create one with monsync store load"], "\(result)")
            }
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
    }

    @Test("a corrupt store is named as such")
    func corruptStore() async throws {
        try await withTemporaryDirectory { directory in
            let store = directory.appendingPathComponent("store").path
            _ = try await monsync(["store", "load", store, "--keys", "10", "--value-size", "8"])
            try Data("garbage".utf8).write(to: URL(fileURLWithPath: store).appendingPathComponent("CURRENT"))
            let result = try await monsync(["store", "digest", store])
            #expect(result.status == 1, "\(result)")
            #expect(result.errorLines.count == 1, "\(result)")
            #expect(result.stderr.contains("Error: the store \(store) is corrupt ("), "\(result)")
            #expect(result.stderr.contains("restore it from a backup, or remove it and let the node sync a fresh copy"), "\(result)")
        }
    }

    @Test("a monmap without this node is refused in one sentence")
    func notInMonmap() async throws {
        let result = try await monsync(["node", "--name", "d", "--monmap", makeMonmap(["a", "b", "c"]), "--store", "memory"])
        #expect(result.status == 1, "\(result)")
        #expect(result.errorLines == [
            "Error: mon.d is not in the monmap (members: a, b, c); pass one of those names with --name or add d=URL to the monmap",
        ], "\(result)")
    }

    @Test("--config lists the monmap")
    func configFile() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("monmap.conf")
            try Data("# the cluster\na = tcp://127.0.0.1:1\n\nb=tcp://127.0.0.1:2  # second\n".utf8).write(to: file)
            let result = try await monsync(["node", "--name", "z", "--config", file.path, "--store", "memory"])
            #expect(result.errorLines == [
                "Error: mon.z is not in the monmap (members: a, b); pass one of those names with --name or add z=URL to the monmap",
            ], "\(result)")
            try Data("a tcp://127.0.0.1:1\n".utf8).write(to: file)
            let bad = try await monsync(["status", "--config", file.path])
            #expect(bad.status == 64, "a client command's bad monmap is a usage error")
            #expect(bad.stderr.contains("line 1 is not name=URL"), "\(bad)")
        }
    }
}

// Every test below runs nodes over ZeroMQ tcp:// (the default `ZeroMQ` trait).
#if ZeroMQ
extension CommandTests {
    @Test("status against monitors nobody runs names them and gives up at --timeout (exit 3); a put's outcome is unknown (exit 4)")
    func unreachable() async throws {
        let monmap = makeMonmap(["a", "b", "c"])
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await monsync(["status", "--monmap", monmap, "--timeout", "1"])
        #expect(started.duration(to: clock.now) < .seconds(10))
        #expect(result.status == 3, "\(result)")
        let members = monmap.split(separator: ",").joined(separator: ", ")
        #expect(result.errorLines == [
            "Error: no monitor answered within 1 s (tried \(members)); check that they run and that the monmap is right",
        ], "\(result)")
        let put = try await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "1"])
        #expect(put.status == 4, "\(put)")
        #expect(put.stderr.contains("Error: the outcome of put k is unknown: no monitor answered within 1 s (tried"), "\(put)")
    }

    @Test("a three-node ZeroMQ cluster: put, get, list, status, delete, errors, then SIGTERM exits 0")
    func cluster() async throws {
        try await withTemporaryDirectory { directory in
            let monmap = makeMonmap(["a", "b", "c"])
            let stores = ["a", "b", "c"].map { directory.appendingPathComponent($0).path }
            let nodes = try await zip(["a", "b", "c"], stores).asyncMap { name, store in
                try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", store] + fastTimers)
            }
            defer { for node in nodes { node.signal(SIGKILL) } }

            // Wait (bounded) for a quorum of all three.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            var quorum = false
            while !quorum && clock.now < deadline {
                let status = try await monsync(["status", "--monmap", monmap, "--timeout", "2", "--json"])
                if status.status == 0, let rows = try? statusMonitors(status.stdout) {
                    quorum = rows.allSatisfy { ($0["quorum"] as? [String])?.count == 3 }
                }
                if !quorum { try await clock.sleep(for: .milliseconds(300)) }
            }
            try #require(quorum, "no quorum of 3 within 30 s: \(nodes.map(\.stderrSoFar))")

            let put = try await monsync(["put", "color", "blue", "--monmap", monmap])
            #expect(put.status == 0, "\(put)")
            #expect(put.stdout.hasPrefix("set color (version "), "\(put)")
            _ = try await monsync(["put", "shape", "round", "--monmap", monmap])

            // Any one monitor will do; a peon answers or forwards.
            let member = String(monmap.split(separator: ",")[2].split(separator: "=")[1])
            let get = try await monsync(["get", "color", "--mon", member])
            #expect(get.status == 0 && get.stdout == "blue\n", "\(get)")
            let list = try await monsync(["list", "--monmap", monmap])
            #expect(list.stdout == "color\nshape\n", "\(list)")
            let listed = try await monsync(["list", "--prefix", "sh", "--monmap", monmap, "--json"])
            #expect(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String] == ["shape"], "\(listed)")

            let status = try await monsync(["status", "--monmap", monmap])
            #expect(status.status == 0, "\(status)")
            #expect(status.stdout.hasPrefix("NAME  RANK  ADDRESS"), "\(status)")
            #expect(status.stdout.contains("quorum a,b,c (leader a); 3 of 3 monitors answered"), "\(status)")

            let delete = try await monsync(["delete", "color", "--monmap", monmap, "--json"])
            #expect(delete.status == 0, "\(delete)")
            let gone = try await monsync(["get", "color", "--monmap", monmap])
            #expect(gone.status == 1)
            #expect(gone.errorLines == ["Error: no value for key 'color'; list the keys with monsync list"], "\(gone)")

            // A second node on a's port, and one on a's store directory.
            let aAddress = String(monmap.split(separator: ",")[0].split(separator: "=")[1])
            let busy = try await monsync(["node", "--name", "a", "--monmap", monmap, "--store", "memory"])
            #expect(busy.status == 1, "\(busy)")
            #expect(busy.errorLines == [
                "Error: address \(aAddress) is in use: another process listens there; pick another port or stop it",
            ], "\(busy)")
            let busyStore = directory.appendingPathComponent("never").path
            _ = try await monsync(["node", "--name", "a", "--monmap", monmap, "--store", busyStore])
            #expect(!FileManager.default.fileExists(atPath: busyStore), "a node that never ran leaves no store behind")

            let lockedMap = "a=tcp://127.0.0.1:\(freeTCPPort())"
            let locked = try await monsync(["node", "--name", "a", "--monmap", lockedMap, "--store", stores[0]])
            #expect(locked.status == 1, "\(locked)")
            #expect(locked.errorLines == [
                "Error: the store \(stores[0]) is in use by another process (a running monsync node?); stop that process or use another directory",
            ], "\(locked)")
            let load = try await monsync(["store", "load", stores[0], "--keys", "10", "--value-size", "4", "--prefix", "offline"])
            #expect(load.status == 1, "\(load)")
            #expect(load.stderr.contains("is in use by another process"), "\(load)")

            // SIGTERM: every node stops gracefully and exits 0.
            for node in nodes { node.signal(SIGTERM) }
            for node in nodes {
                let result = try await node.wait(timeout: .seconds(20))
                #expect(result.status == 0, "\(result)")
            }

            // The load into the locked store wrote nothing; the cluster's writes are there.
            let dump = try await monsync(["store", "dump", stores[0]])
            #expect(dump.status == 0, "\(dump)")
            #expect(!dump.stdout.contains("offline/"), "\(dump)")
            #expect(dump.stdout.contains("kv/shape = \"round\""), "\(dump)")
            let digests = try await stores.asyncMap { try await monsync(["store", "digest", $0]).stdout }
            #expect(Set(digests.map { $0.split(separator: "\n").dropFirst().joined() }).count == 1,
                    "every member holds the same data: \(digests)")
        }
    }
}

extension CommandTests {
    @Test("an empty node next to two loaded, trimmed stores catches up by a full store sync")
    func storeSyncAcrossProcesses() async throws {
        try await withTemporaryDirectory { directory in
            let monmap = makeMonmap(["a", "b", "c"])
            let stores = ["a", "b", "c"].map { directory.appendingPathComponent($0).path }
            for store in stores.prefix(2) {
                let load = try await monsync(["store", "load", store, "--keys", "3000", "--value-size", "64", "--keep", "5"])
                #expect(load.status == 0, "\(load)")
            }
            // c may decide to sync before a and b have elected a leader; its requester does not learn
            // the leader while it retries, so it gives up fast and probes again (which finds the leader).
            let syncTimers = ["--sync-backoff", "1", "--sync-start-timeout", "3", "--sync-start-attempts", "2"]
            let nodes = try await zip(["a", "b", "c"], stores).asyncMap { name, store in
                try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", store] + fastTimers + syncTimers)
            }
            defer { for node in nodes { node.signal(SIGKILL) } }

            // c is oblivious (its last_committed 0 is below a's and b's first_committed 26): it must copy the store.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(40)
            var caughtUp = false
            while !caughtUp && clock.now < deadline {
                let status = try await monsync(["status", "--monmap", monmap, "--timeout", "2", "--json"])
                if status.status == 0, let rows = try? statusMonitors(status.stdout) {
                    caughtUp = rows.allSatisfy { ($0["quorum"] as? [String])?.count == 3 && $0["lastCommitted"] as? Int == 30 }
                }
                if !caughtUp { try await clock.sleep(for: .milliseconds(300)) }
            }
            try #require(caughtUp, "c did not catch up within 40 s: \(nodes.map(\.stderrSoFar))")
            let get = try await monsync(["get", "key-00002999", "--monmap", monmap])
            #expect(get.status == 0, "\(get)")

            // status --json reports the sync: c's copy is done, and the provider's and leader's counters agree with it.
            let status = try await monsync(["status", "--monmap", monmap, "--timeout", "5", "--json"])
            let rows = try #require(try statusMonitors(status.stdout), "\(status)")
            func sync(_ name: String) -> [String: Any]? { rows.first { $0["name"] as? String == name }?["sync"] as? [String: Any] }
            let copied = try #require(sync("c")?["requester"] as? [String: Any], "c reports its sync: \(status.stdout)")
            #expect(copied["phase"] as? String == "done", "\(copied)")
            let bytes = try #require(copied["bytes"] as? Int), keys = try #require(copied["keys"] as? Int)
            #expect(keys > 3000, "3000 loaded keys and the Paxos versions: \(copied)")
            #expect(bytes > 3000 * 64 && (copied["chunks"] as? Int ?? 0) > 0, "\(copied)")
            #expect(copied["providerSwitches"] as? Int == 0 && copied["corruptChunks"] as? Int == 0, "\(copied)")
            #expect(copied["elapsedSeconds"] as? Double ?? 0 > 0 && copied["rateBytesPerSecond"] as? Int ?? 0 > 0, "\(copied)")
            let providerName = try #require(copied["providerName"] as? String, "\(copied)")
            #expect(["a", "b"].contains(providerName))
            #expect((copied["provider"] as? String)?.hasPrefix("tcp://127.0.0.1:") == true, "\(copied)")
            let served = try #require(sync(providerName)?["provider"] as? [String: Any], "\(status.stdout)")
            #expect(served["bytesSent"] as? Int == bytes && served["chunksSent"] as? Int == copied["chunks"] as? Int, "\(served)")
            #expect(served["completed"] as? Int == 1 && served["sessionsActive"] as? Int == 0, "\(served)")
            // The three nodes start together: c may find a and b before they have a leader, and then
            // copies without a grant (there is no quorum to commit or trim meanwhile).
            let leaderName = try #require(rows.first { $0["name"] as? String == "c" }?["leader"] as? String)
            if let led = sync(leaderName)?["leader"] as? [String: Any] {
                #expect((led["granted"] as? Int ?? 0) <= 1 && led["syncsRunning"] as? Int == 0, "\(led)")
            }
            let text = try await monsync(["status", "--monmap", monmap, "--timeout", "5"])
            #expect(text.stdout.contains("\nsync:\n  ") && text.stdout.contains("c requester: done from \(providerName), "), "\(text)")

            for node in nodes { node.signal(SIGTERM) }
            for node in nodes {
                let result = try await node.wait(timeout: .seconds(20))
                #expect(result.status == 0, "\(result)")
            }
            let digests = try await stores.asyncMap { try await monsync(["store", "digest", $0]).stdout.split(separator: "\n").dropFirst().joined() }
            #expect(Set(digests).count == 1, "every member holds the same data: \(digests)")
        }
    }
}

extension CommandTests {
    @Test("a node whose peers are all down still stops within --shutdown-timeout (3 s) of SIGTERM, exit 0")
    func boundedShutdown() async throws {
        try await withTemporaryDirectory { directory in
            let store = directory.appendingPathComponent("a").path
            let node = try await RunningProcess(["node", "--name", "a", "--monmap", makeMonmap(["a", "b", "c"]), "--store", store] + fastTimers)
            defer { node.signal(SIGKILL) }
            // Long enough for probes to the missing peers to queue up behind the transport's send timeout.
            try await Task.sleep(for: .seconds(4))
            let clock = ContinuousClock()
            let signalled = clock.now
            node.signal(SIGTERM)
            let result = try await node.wait(timeout: .seconds(15))
            #expect(result.status == 0, "\(result)")
            #expect(signalled.duration(to: clock.now) < .seconds(8), "\(result)")
            let digest = try await monsync(["store", "digest", store])
            #expect(digest.status == 0, "the store reopens after a shutdown at the deadline: \(digest)")
        }
    }
}
extension CommandTests {
    @Test("ipc:// monitors with in-memory stores: put and get, and the client leaves no socket file")
    func ipcCluster() async throws {
        try await withTemporaryDirectory { directory in
            let monmap = ["a", "b", "c"].map { "\($0)=ipc://\(directory.appendingPathComponent("\($0).sock").path)" }.joined(separator: ",")
            let nodes = try await ["a", "b", "c"].asyncMap { name in
                try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", "memory"] + fastTimers)
            }
            defer { for node in nodes { node.signal(SIGKILL) } }
            let before = try clientSocketFiles()
            let put = try await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "20"])
            #expect(put.status == 0, "\(put) \(nodes.map(\.stderrSoFar))")
            let get = try await monsync(["get", "k", "--monmap", monmap])
            #expect(get.stdout == "v\n", "\(get)")
            #expect(try clientSocketFiles() == before, "the clients removed their reply sockets")
            for node in nodes { node.signal(SIGTERM) }
            for node in nodes {
                let result = try await node.wait(timeout: .seconds(20))
                #expect(result.status == 0, "\(result)")
            }
        }
    }

    private func clientSocketFiles() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix("monsync-client-") })
    }
}
#endif

extension Array {
    /// `map` with an async transform, one element at a time.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
