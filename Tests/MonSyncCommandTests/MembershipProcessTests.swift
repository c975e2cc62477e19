#if ZeroMQ
import Foundation
import MonSyncTestSupport
import Synchronization
import Testing

/// Membership changes with real `monsync node` processes over ZeroMQ and RocksDB stores (issue 16):
/// grow 3 → 5 and shrink 5 → 3 while a client writes, and replace a monitor whose disk was lost.
@Suite("Membership changes across processes", .timeLimit(.minutes(6)))
struct MembershipProcessTests {
    /// A client that runs `monsync put` one after the other until stopped, and keeps what was acknowledged.
    final class Writer: Sendable {
        /// What the writer did, shared with its task.
        final class Record: Sendable {
            let state = Mutex<(acknowledged: [String], failed: Int, stop: Bool)>(([], 0, false))
        }
        private let record = Record()
        private let task: Task<Void, Never>

        init(monmap: String) {
            let record = record
            task = Task {
                var index = 0
                while !(record.state.withLock { $0.stop }) {
                    let key = "w\(index)"
                    index += 1
                    let put = try? await monsync(["put", key, "value-\(key)", "--monmap", monmap, "--timeout", "10"], timeout: .seconds(20))
                    record.state.withLock {
                        if put?.status == 0 { $0.acknowledged.append(key) } else { $0.failed += 1 }
                    }
                }
            }
        }

        /// Stops and returns the acknowledged keys and the number of failed writes.
        func stop() async -> (acknowledged: [String], failed: Int) {
            record.state.withLock { $0.stop = true }
            await task.value
            return record.state.withLock { ($0.acknowledged, $0.failed) }
        }

        var acknowledgedCount: Int { record.state.withLock { $0.acknowledged.count } }
    }

    /// `monsync mon …` against `monmap`; requires exit 0.
    static func mon(_ arguments: [String], monmap: String) async throws -> ProcessResult {
        let result = try await monsync(["mon"] + arguments + ["--monmap", monmap, "--timeout", "30"], timeout: .seconds(60))
        try #require(result.status == 0, "monsync mon \(arguments.joined(separator: " ")): \(result)")
        return result
    }

    /// The monmap epoch and member names `mon dump --json` reports.
    static func dump(_ monmap: String) async throws -> (epoch: Int, names: [String]) {
        let result = try await monsync(["mon", "dump", "--json", "--monmap", monmap, "--timeout", "5"])
        try #require(result.status == 0, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let members = try #require(object["members"] as? [[String: Any]])
        return (object["epoch"] as? Int ?? -1, members.compactMap { $0["name"] as? String })
    }

    /// The digest line of `monsync store digest DIR`.
    static func digest(_ directory: URL) async throws -> String {
        let result = try await monsync(["store", "digest", directory.path])
        try #require(result.status == 0, "\(result)")
        return try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("digest: ") }.map(String.init), "\(result)")
    }

    @Test("grow 3 → 5 and shrink 5 → 3 while a client writes: every acknowledged write is kept, the three stores end equal")
    func growAndShrink() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            defer { for node in cluster.nodes.values { node.signal(SIGKILL) } }
            _ = try await cluster.waitForQuorum()
            let extra = ["d": "tcp://127.0.0.1:\(freeTCPPort())", "e": "tcp://127.0.0.1:\(freeTCPPort())"]
            var joined: [String: RunningProcess] = [:]
            defer { for node in joined.values { node.signal(SIGKILL) } }
            let writer = Writer(monmap: cluster.monmap)
            try await eventually("the first writes", timeout: .seconds(30), polling: .milliseconds(100)) { writer.acknowledgedCount >= 5 }

            var members = ["a", "b", "c"]
            for name in ["d", "e"] {
                let added = try await Self.mon(["add", name, extra[name]!], monmap: cluster.monmap)
                #expect(added.stdout.contains("added mon.\(name)"), "\(added)")
                joined[name] = try await RunningProcess(["node", "--name", name, "--join", cluster.addresses["a"]!,
                                                         "--store", directory.appendingPathComponent(name).path] + fastTimers)
                members.append(name)
                _ = try await cluster.waitForQuorum(of: members, limit: .seconds(60))
                let before = writer.acknowledgedCount
                try await eventually("writes after \(name) joined", timeout: .seconds(30), polling: .milliseconds(100)) {
                    writer.acknowledgedCount >= before + 3
                }
            }
            let grown = try await Self.dump(cluster.monmap)
            #expect(grown.epoch == 3 && grown.names == ["a", "b", "c", "d", "e"])

            for name in ["e", "d"] {
                _ = try await Self.mon(["remove", name], monmap: cluster.monmap)
                members.removeAll { $0 == name }
                _ = try await cluster.waitForQuorum(of: members, limit: .seconds(60))
                // The removed monitor says so, and takes no part.
                try await eventually("mon.\(name) reports itself removed", timeout: .seconds(30), polling: .milliseconds(300)) {
                    // Asked directly: the cluster's monmap no longer names it, so a survey would not.
                    (try await NodeCluster.answeringRows(monmap: "\(name)=\(extra[name]!)"))[name]?["state"] as? String == "removed"
                }
                #expect(joined[name]!.stderrSoFar.contains("removed from the monmap"))
                joined[name]!.signal(SIGTERM)
                let stopped = try await joined[name]!.wait(timeout: .seconds(20))
                #expect(stopped.status == 0, "\(stopped)")
                let before = writer.acknowledgedCount
                try await eventually("writes after \(name) left", timeout: .seconds(30), polling: .milliseconds(100)) {
                    writer.acknowledgedCount >= before + 3
                }
            }
            let (acknowledged, failed) = await writer.stop()
            let shrunk = try await Self.dump(cluster.monmap)
            #expect(shrunk.epoch == 5 && shrunk.names == ["a", "b", "c"])

            // Every acknowledged write is there.
            let listed = try await cluster.run(["list", "--prefix", "w", "--json", "--timeout", "10"])
            try #require(listed.status == 0, "\(listed)")
            let keys = Set(try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String], "\(listed)"))
            let missing = acknowledged.filter { !keys.contains($0) }
            #expect(missing.isEmpty, "acknowledged but missing: \(missing)")
            #expect(acknowledged.count >= 20, "only \(acknowledged.count) writes acknowledged (\(failed) failed)")

            // Stopped, the three members' stores are identical.
            try await Task.sleep(for: .seconds(1))
            for name in ["a", "b", "c"] {
                cluster.nodes[name]!.signal(SIGTERM)
                _ = try await cluster.nodes[name]!.wait(timeout: .seconds(20))
            }
            var digests: Set<String> = []
            for name in ["a", "b", "c"] { digests.insert(try await Self.digest(directory.appendingPathComponent(name))) }
            #expect(digests.count == 1, "\(digests)")
        }
    }

    @Test("replace a monitor whose disk was lost: remove c, add c at a new address on an empty store; it syncs and joins")
    func replaceOnEmptyDisk() async throws {
        try await withTemporaryDirectory { directory in
            // Loaded, trimmed stores: the new c cannot catch up by Paxos alone and must sync.
            for name in ["a", "b", "c"] {
                let load = try await monsync(["store", "load", directory.appendingPathComponent(name).path,
                                              "--keys", "3000", "--value-size", "100", "--keep", "5"])
                try #require(load.status == 0, "\(load)")
            }
            let cluster = try await NodeCluster(directory: directory)
            defer { for node in cluster.nodes.values { node.signal(SIGKILL) } }
            _ = try await cluster.waitForQuorum()
            #expect(try await cluster.run(["put", "before", "replacement"]).status == 0)

            // c's machine and disk are gone.
            cluster.nodes["c"]!.signal(SIGKILL)
            _ = try await cluster.nodes["c"]!.wait(timeout: .seconds(10))
            try FileManager.default.removeItem(at: directory.appendingPathComponent("c"))
            _ = try await Self.mon(["remove", "c"], monmap: cluster.monmap)
            let newAddress = "tcp://127.0.0.1:\(freeTCPPort())"
            _ = try await Self.mon(["add", "c", newAddress], monmap: cluster.monmap)
            let replacement = try await RunningProcess(["node", "--name", "c", "--join", cluster.addresses["a"]!,
                                                        "--store", directory.appendingPathComponent("c-new").path] + fastTimers)
            defer { replacement.signal(SIGKILL) }
            let current = "a=\(cluster.addresses["a"]!),b=\(cluster.addresses["b"]!),c=\(newAddress)"
            try await eventually("a, b and the new c form a quorum", timeout: .seconds(90), polling: .milliseconds(300)) {
                let rows = try await NodeCluster.answeringRows(monmap: current)
                return ["a", "b", "c"].allSatisfy { Set((rows[$0]?["quorum"] as? [String]) ?? []) == ["a", "b", "c"] }
            }
            let rows = try await NodeCluster.answeringRows(monmap: current)
            let requester = (rows["c"]?["sync"] as? [String: Any])?["requester"] as? [String: Any]
            #expect(requester?["phase"] as? String == "done" && (requester?["keys"] as? Int ?? 0) >= 3000,
                    "the new c caught up by a store sync: \(String(describing: requester))")
            let dumped = try await Self.dump(current)
            #expect(dumped.epoch == 3 && dumped.names == ["a", "b", "c"])
            #expect(try await monsync(["put", "after", "replacement", "--monmap", current]).status == 0)
            let read = try await monsync(["get", "before", "--monmap", current])
            #expect(read.status == 0 && read.stdout.contains("replacement"), "\(read)")

            try await Task.sleep(for: .seconds(1))
            for node in [cluster.nodes["a"]!, cluster.nodes["b"]!, replacement] {
                node.signal(SIGTERM)
                _ = try await node.wait(timeout: .seconds(20))
            }
            var digests: Set<String> = []
            for name in ["a", "b", "c-new"] { digests.insert(try await Self.digest(directory.appendingPathComponent(name))) }
            #expect(digests.count == 1, "\(digests)")
        }
    }
}
#endif
