#if ZeroMQ
import Foundation
import Testing

/// The monitor issue's leader-failure scenario with real processes over ZeroMQ: the leader is
/// killed (SIGKILL, no goodbye), the two survivors elect a new leader, and every acknowledged
/// write is still there.
@Suite("Leader failure across processes")
struct LeaderFailureTests {
    /// The status rows (`monsync status --json`) of the monitors that answered.
    func statusRows(_ monmap: String) async throws -> [[String: Any]] {
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", "2", "--json"])
        guard let rows = try? statusMonitors(status.stdout) else { return [] }
        return rows.filter { ($0["answered"] as? Bool) == true }
    }

    /// Waits (at most `limit`) until the answering monitors are exactly `names`, all in one quorum of them.
    func waitForQuorum(of names: [String], monmap: String, limit: Duration = .seconds(40)) async throws -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            let rows = try await statusRows(monmap).filter { names.contains($0["name"] as? String ?? "") }
            if rows.count == names.count,
               rows.allSatisfy({ Set(($0["quorum"] as? [String]) ?? []) == Set(names) }),
               let leader = rows.first?["leader"] as? String, rows.allSatisfy({ $0["leader"] as? String == leader }) {
                return leader
            }
            try await clock.sleep(for: .milliseconds(300))
        }
        return nil
    }

    @Test("the leader is killed; the survivors elect a new one and no acknowledged write is lost")
    func leaderKilled() async throws {
        try await withTemporaryDirectory { directory in
            let names = ["a", "b", "c"]
            let monmap = makeMonmap(names)
            var nodes: [String: RunningProcess] = [:]
            for name in names {
                nodes[name] = try await RunningProcess(["node", "--name", name, "--monmap", monmap,
                                                  "--store", directory.appendingPathComponent(name).path] + fastTimers)
            }
            defer { for node in nodes.values { node.signal(SIGKILL) } }
            let leader = try #require(try await waitForQuorum(of: names, monmap: monmap), "no quorum of three")

            var acknowledged: [String] = []
            for index in 0..<10 {
                let put = try await monsync(["put", "key-\(index)", "value-\(index)", "--monmap", monmap, "--timeout", "10"])
                #expect(put.status == 0, "\(put)")
                if put.status == 0 { acknowledged.append("key-\(index)") }
            }

            nodes[leader]?.signal(SIGKILL)
            let survivors = names.filter { $0 != leader }
            let newLeader = try #require(try await waitForQuorum(of: survivors, monmap: monmap), "the survivors elected no leader")
            #expect(newLeader != leader)

            let list = try await monsync(["list", "--monmap", monmap, "--timeout", "10"])
            #expect(Set(list.stdout.split(separator: "\n").map(String.init)) == Set(acknowledged), "\(list)")
            for key in [acknowledged.first, acknowledged.last].compactMap({ $0 }) {
                let get = try await monsync(["get", key, "--monmap", monmap, "--timeout", "10"])
                #expect(get.status == 0 && get.stdout == "value-\(key.dropFirst(4))\n", "\(key): \(get)")
            }
            let after = try await monsync(["put", "after-failover", "yes", "--monmap", monmap, "--timeout", "10"])
            #expect(after.status == 0, "the new quorum commits: \(after)")

            for name in survivors { nodes[name]?.signal(SIGTERM) }
            for name in survivors {
                let result = try await #require(nodes[name]).wait(timeout: .seconds(20))
                #expect(result.status == 0, "\(name): \(result)")
            }
        }
    }
}
#endif
