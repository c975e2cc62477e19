#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// Real `monsync node` processes over ZeroMQ on free 127.0.0.1 ports, each with a RocksDB store in
/// `directory`, run with ``fastTimers``; every process is killed when the cluster is released.
final class NodeCluster: @unchecked Sendable {
    // @unchecked Sendable: `nodes` is written only in init; RunningProcess is itself Sendable.
    let names: [String]
    /// `a=tcp://…,b=tcp://…`, ranks in order.
    let monmap: String
    /// Each node's URL, by name.
    let addresses: [String: String]
    let nodes: [String: RunningProcess]
    /// Each node's admin endpoint port (`--admin-address 127.0.0.1:PORT`), by name, when started with one.
    let adminPorts: [String: Int]

    /// Starts a node for each of `running` (all of `names` by default), on the stores in `directory`,
    /// with `monmap` (fresh free ports by default); `arguments` go to every node (after
    /// ``fastTimers``). With `admin`, each node serves its admin endpoint on a free port (``adminPorts``).
    init(names: [String] = ["a", "b", "c"], running: [String]? = nil, directory: URL, monmap: String? = nil, admin: Bool = false,
         arguments: [String] = []) async throws {
        self.names = names
        self.monmap = monmap ?? makeMonmap(names)
        var addresses: [String: String] = [:]
        for pair in self.monmap.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            addresses[String(parts[0])] = String(parts[1])
        }
        self.addresses = addresses
        var nodes: [String: RunningProcess] = [:]
        var adminPorts: [String: Int] = [:]
        for name in running ?? names {
            var extra = arguments
            if admin {
                let port = freeTCPPort()
                adminPorts[name] = port
                extra += ["--admin-address", "127.0.0.1:\(port)"]
            }
            nodes[name] = try await RunningProcess(["node", "--name", name, "--monmap", self.monmap,
                                              "--store", directory.appendingPathComponent(name).path] + fastTimers + extra)
        }
        self.nodes = nodes
        self.adminPorts = adminPorts
    }

    deinit {
        for node in nodes.values {
            node.signal(SIGCONT)
            node.signal(SIGKILL)
        }
    }

    /// The rows of `monsync status --json` that answered, by name (any build's output reads the same here).
    func answeringRows() async throws -> [String: [String: Any]] {
        try await Self.answeringRows(monmap: monmap)
    }

    /// The rows of `monsync status --json` against `monmap` that answered, by name.
    static func answeringRows(monmap: String) async throws -> [String: [String: Any]] {
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", "2", "--json"])
        guard let rows = try? statusMonitors(status.stdout) else { return [:] }
        var byName: [String: [String: Any]] = [:]
        for row in rows where (row["answered"] as? Bool) == true {
            if let name = row["name"] as? String { byName[name] = row }
        }
        return byName
    }

    /// Waits (at most `limit`) until `members` answer as one quorum of exactly them with one leader; returns it.
    func waitForQuorum(of members: [String]? = nil, limit: Duration = .seconds(40)) async throws -> String {
        let members = members ?? names
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var last: [String: [String: Any]] = [:]
        while clock.now < deadline {
            last = try await answeringRows()
            let rows = members.compactMap { last[$0] }
            if rows.count == members.count,
               rows.allSatisfy({ Set(($0["quorum"] as? [String]) ?? []) == Set(members) }),
               let leader = rows.first?["leader"] as? String, rows.allSatisfy({ $0["leader"] as? String == leader }) {
                return leader
            }
            try await clock.sleep(for: .milliseconds(300))
        }
        throw TimedOut(what: "a quorum of \(members)", details: "last status: \(last); logs: \(nodes.mapValues(\.stderrSoFar))")
    }

    /// `monsync` with `arguments` and this cluster's `--monmap`.
    func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ProcessResult {
        try await monsync(arguments + ["--monmap", monmap], timeout: timeout)
    }
}
#endif
