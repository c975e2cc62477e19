#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// Issue 14, "Operators first": a three-node cluster of real `monsync node` processes with their
/// admin endpoints, scraped over real HTTP and checked with Prometheus's own `promtool`; `/health`
/// and `monsync health` while the cluster is whole, with one monitor down, and without a quorum.
///
/// Every wait polls with a generous bound; nothing asserts how long anything took.
@Suite("Admin endpoint and health (issue 14)", .serialized, .timeLimit(.minutes(5)))
struct AdminEndpointTests {
    /// Free disk on the test machine is not the point: no store check may fire here.
    static let noStoreChecks = ["--store-nearly-full-percent", "0", "--store-full-percent", "0"]
    static let promtool = "/usr/bin/promtool"

    @Test("/metrics passes promtool and counts what happened; /health and monsync health: OK, then MON_DOWN, then no quorum")
    func metricsAndHealth() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.promtool),
                     "promtool is missing: Scripts/ensure-system-packages installs Debian's prometheus package")
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory, admin: true, arguments: Self.noStoreChecks)
            let leader = try await cluster.waitForQuorum()
            let put = try await cluster.run(["put", "color", "blue", "--timeout", "20"])
            try #require(put.status == 0, "\(put)")

            // MARK: /metrics
            let leaderPort = try #require(cluster.adminPorts[leader])
            var exposition = ""
            // The commit reaches the leader's histogram when the round ends, before the client's answer;
            // the poll only covers a scrape racing the node's start.
            try await eventually("the leader's metrics show the commit", timeout: .seconds(30), polling: .milliseconds(200)) {
                guard let response = await httpGet(port: leaderPort, path: "/metrics"), response.status == 200 else { return false }
                exposition = response.body
                return (prometheusSamples(exposition)["monsync_monitor_paxos_commit_duration_seconds_count{mon=\"\(leader)\"}"] ?? 0) >= 1
            }
            let file = directory.appendingPathComponent("metrics.txt")
            try exposition.write(to: file, atomically: true, encoding: .utf8)
            let lint = try await runProcess("/bin/sh", ["-c", "\(Self.promtool) check metrics < '\(file.path)'"], timeout: .seconds(60))
            #expect(lint.status == 0, "promtool check metrics: \(lint)\n\(exposition)")

            let samples = prometheusSamples(exposition)
            let mon = "mon=\"\(leader)\""
            #expect((samples["monsync_monitor_paxos_commits_total{\(mon)}"] ?? 0) >= 1, "commits after a put")
            #expect((samples["monsync_monitor_client_writes_committed_total{\(mon)}"] ?? 0) >= 1)
            #expect(samples["monsync_monitor_in_quorum{\(mon)}"] == 1)
            #expect(samples["monsync_monitor_quorum_size{\(mon)}"] == 3)
            #expect(samples["monsync_monitor_state{\(mon)}"] == 4, "leader")
            #expect((samples["monsync_monitor_elections_won_total{\(mon)}"] ?? 0) >= 1)
            #expect((samples["monsync_monitor_lease_renewals_total{\(mon)}"] ?? 0) >= 1)
            #expect(samples["monsync_health_status{\(mon)}"] == 0, "HEALTH_OK")
            #expect((samples["monsync_store_size_bytes{\(mon)}"] ?? 0) > 0, "a RocksDB store has files")
            // The histogram: every bucket up to +Inf, cumulative, with its sum.
            let buckets = samples.filter { $0.key.hasPrefix("monsync_monitor_paxos_commit_duration_seconds_bucket{\(mon),") }
            #expect(buckets.count == 14, "13 bounds and +Inf: \(buckets.keys.sorted())")
            #expect(buckets["monsync_monitor_paxos_commit_duration_seconds_bucket{\(mon),le=\"+Inf\"}"]
                    == samples["monsync_monitor_paxos_commit_duration_seconds_count{\(mon)}"])
            #expect(samples["monsync_monitor_paxos_commit_duration_seconds_sum{\(mon)}"] != nil)
            #expect(exposition.contains("# TYPE monsync_monitor_paxos_commit_duration_seconds histogram"))
            #expect(exposition.contains("# HELP monsync_monitor_paxos_commits_total "))
            #expect(samples.keys.contains { $0.hasPrefix("monsync_dispatch_received_bytes_total{node=") })
            // The put was answered by one of the three: its request is counted there.
            var puts = 0.0
            for name in cluster.names {
                let body = await httpGet(port: cluster.adminPorts[name]!, path: "/metrics")?.body ?? ""
                puts += prometheusSamples(body).filter { $0.key.hasPrefix("monsync_monitor_client_requests_total{") && $0.key.contains("op=\"put\",result=\"ok\"") }
                    .values.reduce(0, +)
            }
            #expect(puts >= 1, "the put's answer is counted")

            // MARK: Healthy
            for name in cluster.names {
                let health = await httpGet(port: cluster.adminPorts[name]!, path: "/health")
                #expect(health?.status == 200, "mon.\(name) /health: \(String(describing: health))")
                #expect(health?.body.contains("\"HEALTH_OK\"") == true, "mon.\(name) /health: \(String(describing: health))")
            }
            let healthy = try await cluster.run(["health", "--timeout", "10"] + Self.noStoreChecks)
            #expect(healthy.status == 0 && healthy.stdout == "HEALTH_OK\n", "\(healthy)")
            #expect(await httpGet(port: leaderPort, path: "/nowhere")?.status == 404)

            // MARK: One monitor down
            let survivors = cluster.names.filter { $0 != "c" }
            try #require(cluster.nodes["c"]).signal(SIGKILL)
            _ = try await cluster.waitForQuorum(of: survivors)
            var down = ProcessResult(termination: .exited(-1), stdout: "", stderr: "")
            try await eventually("monsync health reports MON_DOWN", timeout: .seconds(60), polling: .milliseconds(500)) {
                down = try await cluster.run(["health", "--detail", "--timeout", "5"] + Self.noStoreChecks)
                return down.status == 7
            }
            #expect(down.stdout.hasPrefix("HEALTH_WARN 1/3 mons down, quorum a,b"), "\(down)")
            #expect(down.stdout.contains("[WRN] MON_DOWN: 1/3 mons down"), "\(down)")
            #expect(down.stdout.contains("mon.c (rank 2) at \(cluster.addresses["c"]!) is down (out of quorum; no answer)"), "\(down)")
            let downJSON = try await cluster.run(["health", "--json", "--timeout", "5"] + Self.noStoreChecks)
            #expect(downJSON.status == 7, "\(downJSON)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(downJSON.stdout.utf8)) as? [String: Any], "\(downJSON)")
            #expect(report["status"] as? String == "HEALTH_WARN")
            let checks = try #require(report["checks"] as? [String: Any])
            #expect(Set(checks.keys) == ["MON_DOWN"], "\(checks)")
            let status = try await cluster.run(["status", "--json", "--timeout", "5"] + Self.noStoreChecks)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status)")
            #expect((summary["health"] as? [String: Any])?["status"] as? String == "HEALTH_WARN", "\(status)")
            #expect(summary["quorum"] as? [String] == survivors, "\(status)")
            #expect((summary["monmap"] as? [String: Any])?["epoch"] as? Int == 1, "\(status)")
            #expect(summary["answered"] as? Int == 2 && summary["asked"] as? Int == 3, "\(status)")
            let nodeHealth = await httpGet(port: cluster.adminPorts["a"]!, path: "/health")
            #expect(nodeHealth?.status == 200 && nodeHealth?.body.contains("MON_DOWN") == true, "\(String(describing: nodeHealth))")

            // MARK: No quorum
            try #require(cluster.nodes["b"]).signal(SIGKILL)
            var lastHealth: (status: Int, body: String)?
            try await eventually("mon.a's /health answers 503", timeout: .seconds(60), polling: .milliseconds(500)) {
                lastHealth = await httpGet(port: cluster.adminPorts["a"]!, path: "/health")
                return lastHealth?.status == 503
            }
            #expect(lastHealth?.body.contains("NO_QUORUM") == true, "\(String(describing: lastHealth))")
            let lonely = try await cluster.run(["health", "--detail", "--timeout", "3"] + Self.noStoreChecks)
            #expect(lonely.status == 2, "\(lonely)")
            #expect(lonely.stdout.hasPrefix("HEALTH_ERR no quorum: 1 of 3 monitors answered"), "\(lonely)")
            #expect(lonely.stdout.contains("[ERR] NO_QUORUM"), "\(lonely)")
            let metrics = await httpGet(port: cluster.adminPorts["a"]!, path: "/metrics")
            let after = prometheusSamples(metrics?.body ?? "")
            #expect(after["monsync_health_status{mon=\"a\"}"] == 2, "HEALTH_ERR")
            #expect(after["monsync_health_check{code=\"NO_QUORUM\",mon=\"a\"}"] ?? after["monsync_health_check{mon=\"a\",code=\"NO_QUORUM\"}"] == 1)
            #expect(after["monsync_monitor_in_quorum{mon=\"a\"}"] == 0)

            // MARK: Nobody answers
            try #require(cluster.nodes["a"]).signal(SIGKILL)
            let nobody = try await cluster.run(["health", "--json", "--timeout", "2"] + Self.noStoreChecks)
            #expect(nobody.status == 3, "\(nobody)")
            #expect(nobody.stdout.contains("\"NO_QUORUM\"") && nobody.stdout.contains("no monitor answered"), "\(nobody)")
        }
    }

    @Test("a busy --admin-address stops the node with one sentence; a malformed one is a usage error")
    func busyAdminAddress() async throws {
        try await withTemporaryDirectory { directory in
            let port = freeTCPPort()
            let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(holder) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            try #require(bound && listen(holder, 1) == 0)
            let monmap = makeMonmap(["a"])
            let busy = try await monsync(["node", "--name", "a", "--monmap", monmap, "--store", "memory",
                                          "--admin-address", "127.0.0.1:\(port)"] + fastTimers, timeout: .seconds(30))
            #expect(busy.status == 1, "\(busy)")
            #expect(busy.stderr == "Error: cannot serve the admin endpoint on 127.0.0.1:\(port): Address already in use (errno 98); "
                    + "pick another --admin-address, or stop what listens there\n", "\(busy)")
            let malformed = try await monsync(["node", "--name", "a", "--monmap", monmap, "--store", directory.path,
                                               "--admin-address", "localhost"])
            #expect(malformed.status == 64, "\(malformed)")
            #expect(malformed.stderr.contains("--admin-address"), "\(malformed)")
        }
    }
}
#endif
