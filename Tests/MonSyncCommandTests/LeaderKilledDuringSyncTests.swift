#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The leader dies while a store sync streams from another provider, with real processes over
/// ZeroMQ and RocksDB stores.
///
/// The defect this guards against: a requester's sends to a dead peer (HEARTBEAT, FINISH to the
/// leader) waited for the transport's 10 s send timeout before its own chunk or finish timeouts even
/// started, and after the swap it waited for a FINISH_REPLY the dead leader never sent. With the
/// leader killed during a sync, the synced monitor stayed out of the quorum and client writes
/// stopped for the leader's whole downtime (10 of 10 runs, up to 20.6 s). Now the requester never
/// waits on a send and ends right after the swap (PROTOCOL.md §8), so the copy goes on from the
/// provider and the synced monitor rejoins at once: the provider and it are a majority.
///
/// a and b hold the same loaded, trimmed store and form a quorum; c starts empty and syncs. Once c
/// streams from a provider that is not the leader, the leader is SIGKILLed (never restarted), and a
/// new `monsync put --timeout 5` starts every 0.5 s until one is acknowledged. A put started while
/// the provider still forwards to the dead leader waits out its whole attempt (the peon forwards a
/// write once), so staggered writers measure when the cluster serves again, not when one client
/// retries. The writers are given the two survivors: `monsync put` tries the monitors in rank order
/// and gives an unreachable one a whole 5 s attempt, so with the full monmap and a dead leader of
/// rank 0 a `--timeout 5` put never reaches the survivors (a client-side matter, not measured here).
///
/// The write outage — from the kill to the first acknowledged write — is bounded by the timers
/// (``fastTimers``: probe 0.5 s, election 1 s, lease 2 s): the rest of c's copy (about 1 s of a 1-2 s
/// stream), c's probe (0.5 s), one election that ends on its timeout because the dead leader never
/// acks (1 s plus up to 50 % jitter), the new leader's wait of one lease before it serves (a quorum
/// without the whole monmap: 2 s), one Paxos round and the writers' 0.5 s spacing: about 6 s
/// (measured: 4.3-5.9 s on a quiet machine). The bound, 30 s, leaves room for the whole suite's
/// other process clusters on two cores beside other CPU-bound work (13.7 s was seen beside the
/// suite and two CPU-bound jobs; 20.2 s at load average 10, the suite beside a fresh build and a
/// benchmark saturating a core: the election after the sync took 10 s, every timer late) and still
/// tells the defect apart: the old requester waited for FINISH_REPLY (30 s) after a FINISH send
/// that itself waited out the send timeout — with the build of 334d23e the first write came
/// 48.8 s after the kill (`MONSYNC_TEST_BINARY` runs this test against such a build).
///
/// `MONSYNC_LEADER_KILL_RUNS=5 swift test --filter LeaderKilledDuringSyncTests` repeats the scenario
/// (each on fresh processes and stores) and prints every run's outage.
@Suite("Leader killed during a store sync across processes", .timeLimit(.minutes(3)))
struct LeaderKilledDuringSyncTests {
    /// The bound on the write outage, in seconds (see the type's documentation).
    static let outageBound = 30.0
    /// How long the writers keep trying before the test gives up (beyond the bound, to report the outage).
    static let writeDeadline: Duration = .seconds(45)
    /// A new writer every `writerInterval`, each `monsync put --timeout 5`.
    static let writerInterval: Duration = .milliseconds(500)
    static let writeTimeout = 5.0
    /// Keys in a and b: one 128-byte value per chunk, stop-and-wait, about 1-2 s of stream on two cores.
    static let keys = 2000
    /// Scenarios restarted (fresh processes) when c was not caught streaming, or streamed from the leader.
    static let attempts = 3

    /// What one run measured.
    struct Run: Sendable, CustomStringConvertible {
        var leader: String
        var provider: String
        /// Seconds from the kill to the first acknowledged write.
        var outage: Double
        /// c's own sync clock: when it was seen streaming (just before the kill), and at the end.
        var syncElapsedAtKill: Double
        var syncElapsed: Double
        var bytesAtKill: Int
        var bytes: Int
        var writes: [Write]
        var retries: [String]

        var description: String {
            let acknowledged = writes.filter(\.acknowledged).count
            return "leader \(leader) killed while c streamed from \(provider) (\(bytesAtKill) of \(bytes) bytes, "
                + String(format: "%.2f s into its copy); c's copy ended %.2f s later; ", syncElapsedAtKill, syncElapsed - syncElapsedAtKill)
                + String(format: "first write acknowledged %.2f s after the kill (bound %.0f s); ", outage, LeaderKilledDuringSyncTests.outageBound)
                + "\(writes.count) writers, \(acknowledged) acknowledged"
                + (retries.isEmpty ? "" : "; scenarios restarted: \(retries.joined(separator: "; "))")
        }
    }

    /// One `monsync put` of the writers.
    struct Write: Sendable {
        var index: Int
        /// Seconds after the kill.
        var began: Double
        var ended: Double
        var acknowledged: Bool
        var detail: String
    }

    enum Attempt {
        case measured(Run)
        case restart(String)
    }

    @Test("the leader is killed while c streams from another provider; c completes from it, they form a quorum, and writes resume within the bound")
    func leaderKilledDuringSync() async throws {
        let runs = Int(ProcessInfo.processInfo.environment["MONSYNC_LEADER_KILL_RUNS"] ?? "") ?? 1
        var measured: [Run] = []
        for index in 1...max(1, runs) {
            var retries: [String] = []
            var run: Run?
            while run == nil {
                switch try await Self.scenario() {
                case let .measured(result):
                    run = result
                case let .restart(reason):
                    retries.append(reason)
                    try #require(retries.count < Self.attempts, "no usable scenario in \(Self.attempts) attempts: \(retries)")
                }
            }
            run!.retries = retries
            print("[leader killed during sync] run \(index): \(run!)")
            measured.append(run!)
        }
        if measured.count > 1 {
            let outages = measured.map(\.outage)
            print("[leader killed during sync] outages: " + outages.map { String(format: "%.2f", $0) }.joined(separator: ", ")
                + String(format: " s (max %.2f s, bound %.0f s)", outages.max()!, Self.outageBound))
        }
    }

    /// One scenario on fresh processes and stores; its expectations are recorded as it goes.
    static func scenario() async throws -> Attempt {
        try await withTemporaryDirectory { directory in
            let names = ["a", "b", "c"]
            let monmap = makeMonmap(names)
            let addresses = Dictionary(uniqueKeysWithValues: monmap.split(separator: ",").map { entry in
                let parts = entry.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            })
            let stores = Dictionary(uniqueKeysWithValues: names.map { ($0, directory.appendingPathComponent($0).path) })
            for name in ["a", "b"] {
                let load = try await monsync(["store", "load", stores[name]!, "--keys", String(keys), "--value-size", "128", "--keep", "5"])
                try #require(load.status == 0, "\(load)")
            }
            // A short back-off in case c asks before it learns the leader; a chunk timeout long enough
            // that a loaded provider is not left; a heartbeat every 0.5 s, so c sends to the dead
            // leader while it streams (the sends that used to block it).
            let syncOptions = ["--sync-backoff", "1", "--sync-start-timeout", "3", "--sync-start-attempts", "2",
                               "--sync-chunk-size", "128", "--sync-window", "1", "--sync-chunk-timeout", "5",
                               "--sync-heartbeat-interval", "0.5", "--sync-progress-interval", "0.5"]
            let timers = fastTimers.filter { $0 != "warning" && $0 != "--log-level" } + ["--log-level", "info"]
            var nodes: [String: RunningProcess] = [:]
            defer { for node in nodes.values { node.signal(SIGKILL) } }
            func start(_ name: String) async throws {
                nodes[name] = try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", stores[name]!] + timers + syncOptions)
            }
            func logs() -> String {
                names.compactMap { name in nodes[name].map { "--- \(name):\n" + timeline($0.stderrSoFar) } }.joined(separator: "\n")
            }

            // 1. a and b form a quorum first: c then asks the leader, which grants and names a provider
            //    other than itself (without a leader c would copy from the peers ahead, the leader first).
            try await start("a")
            try await start("b")
            let clock = ContinuousClock()
            var deadline = clock.now + .seconds(30)
            var leader: String?
            while leader == nil && clock.now < deadline {
                let rows = try await statusRows(monmap)
                if ["a", "b"].allSatisfy({ Set((rows[$0]?["quorum"] as? [String]) ?? []) == ["a", "b"] }),
                   let named = rows["a"]?["leader"] as? String, rows["b"]?["leader"] as? String == named {
                    leader = named
                } else {
                    try await clock.sleep(for: .milliseconds(200))
                }
            }
            try #require(leader != nil, "no quorum of a and b: \(logs())")

            // 2. c starts empty; wait until it streams, with some bytes in.
            try await start("c")
            deadline = clock.now + .seconds(30)
            var seen: (rows: [String: [String: Any]], requester: [String: Any])?
            while seen == nil && clock.now < deadline {
                let rows = try await statusRows(monmap, timeout: "1")
                let requester = (rows["c"]?["sync"] as? [String: Any])?["requester"] as? [String: Any]
                switch requester?["phase"] as? String {
                case "streaming" where (requester?["bytes"] as? Int ?? 0) > 0:
                    seen = (rows, requester!)
                case "done", "failed":
                    return .restart("c's sync was \(requester!["phase"]!) before it was seen streaming")
                default:
                    try await clock.sleep(for: .milliseconds(50))
                }
            }
            let (rows, requester) = try #require(seen, "c never streamed: \(logs())")
            let provider = try #require(requester["providerName"] as? String, "\(requester)")
            // The leader now (the one the quorum names), which must not be the provider.
            guard ["a", "b"].allSatisfy({ Set((rows[$0]?["quorum"] as? [String]) ?? []) == ["a", "b"] }),
                  let current = rows["a"]?["leader"] as? String, rows["b"]?["leader"] as? String == current else {
                return .restart("the quorum of a and b changed while c started: \(rows.mapValues { $0["quorum"] ?? "-" })")
            }
            guard provider != current else { return .restart("c streamed from the leader, \(provider)") }
            let survivors = names.filter { $0 != current }  // rank order: the provider and c
            let survivorMonmap = survivors.map { "\($0)=\(addresses[$0]!)" }.joined(separator: ",")

            // 3. Kill the leader; a new writer every 0.5 s until one is acknowledged.
            nodes[current]!.signal(SIGKILL)
            let killed = clock.now
            let writes = await Self.writers(survivorMonmap, from: killed)
            _ = try await nodes[current]!.wait(timeout: .seconds(5))
            let outage = writes.filter(\.acknowledged).map(\.ended).min()
            var shown = writes.map {
                String(format: "  writer %2d: +%5.2f…+%5.2f s %@ %@", $0.index, $0.began, $0.ended, $0.acknowledged ? "ok  " : "FAIL", $0.detail)
            }
            if shown.count > 12 { shown.replaceSubrange(4..<(shown.count - 6), with: ["  … \(shown.count - 10) more"]) }
            let writeReport = shown.joined(separator: "\n")

            // 4. c completed from the provider and the two form a quorum (the write proves one exists).
            var after: [String: [String: Any]] = [:]
            var formed = false
            deadline = clock.now + .seconds(10)
            while !formed && clock.now < deadline {
                after = try await statusRows(monmap, timeout: "1")  // the whole monmap: ranks name the same monitors
                formed = survivors.allSatisfy { Set((after[$0]?["quorum"] as? [String]) ?? []) == Set(survivors) }
                if !formed { try await clock.sleep(for: .milliseconds(300)) }
            }
            let report = "leader \(current) killed; c streamed from \(provider)\nwriters:\n\(writeReport)\nstatus after: \(after)\n\(logs())"
            #expect(formed, "no quorum of \(survivors): \(report)")
            let copied = (after["c"]?["sync"] as? [String: Any])?["requester"] as? [String: Any] ?? [:]
            #expect(copied["phase"] as? String == "done", "c's copy: \(copied)\n\(report)")
            #expect(copied["providerName"] as? String == provider, "c finished its copy from the provider \(provider): \(copied)")
            #expect(copied["providerSwitches"] as? Int == 0, "c never left the provider: \(copied)")
            #expect((copied["keys"] as? Int ?? 0) >= keys, "c holds the whole store: \(copied)")
            let acknowledged = try #require(outage, "no write acknowledged within \(writeDeadline) of the kill: \(report)")
            #expect(acknowledged <= outageBound,
                    "the first write was acknowledged \(String(format: "%.2f", acknowledged)) s after the leader's kill (bound \(outageBound) s): \(report)")
            if let first = writes.first(where: \.acknowledged) {
                let get = try await monsync(["get", "during-\(first.index)", "--monmap", survivorMonmap, "--timeout", "10"])
                #expect(get.stdout == "v\n", "the acknowledged write is readable: \(get)")
            }
            return .measured(Run(leader: current, provider: provider, outage: acknowledged,
                                 syncElapsedAtKill: requester["elapsedSeconds"] as? Double ?? 0,
                                 syncElapsed: copied["elapsedSeconds"] as? Double ?? 0,
                                 bytesAtKill: requester["bytes"] as? Int ?? 0, bytes: copied["bytes"] as? Int ?? 0,
                                 writes: writes, retries: []))
        }
    }

    /// The writers: a `monsync put --timeout 5` every ``writerInterval`` from `start` until one is
    /// acknowledged (or ``writeDeadline``); returns every write, the ones in flight at the end included.
    static func writers(_ monmap: String, from start: ContinuousClock.Instant) async -> [Write] {
        enum Event: Sendable {
            case tick
            case write(Write)
        }
        let clock = ContinuousClock()
        @Sendable func seconds(_ instant: ContinuousClock.Instant) -> Double {
            let (whole, attoseconds) = start.duration(to: instant).components
            return Double(whole) + Double(attoseconds) / 1e18
        }
        return await withTaskGroup(of: Event.self) { group in
            var writes: [Write] = []
            var next = 0
            func launch() {
                let index = next
                next += 1
                group.addTask {
                    let began = clock.now
                    var acknowledged = false
                    var detail = ""
                    do {
                        let put = try await monsync(["put", "during-\(index)", "v", "--monmap", monmap, "--timeout", String(writeTimeout)],
                                                    timeout: .seconds(writeTimeout + 20))
                        acknowledged = put.status == 0
                        detail = (acknowledged ? put.stdout : put.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
                    } catch {
                        detail = "\(error)"
                    }
                    return .write(Write(index: index, began: seconds(began), ended: seconds(clock.now), acknowledged: acknowledged, detail: detail))
                }
                group.addTask {
                    try? await clock.sleep(until: start + writerInterval * (index + 1))
                    return .tick
                }
            }
            launch()
            while let event = await group.next() {
                switch event {
                case .tick:
                    if !writes.contains(where: \.acknowledged) && clock.now < start + writeDeadline { launch() }
                case let .write(write):
                    writes.append(write)
                }
            }
            return writes.sorted { $0.index < $1.index }
        }
    }

    /// The rows of `monsync status --json` that answered, by name.
    static func statusRows(_ monmap: String, timeout: String = "2") async throws -> [String: [String: Any]] {
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", timeout, "--json"])
        guard let rows = try? statusMonitors(status.stdout) else { return [:] }
        var byName: [String: [String: Any]] = [:]
        for row in rows where (row["answered"] as? Bool) == true { byName[row["name"] as? String ?? ""] = row }
        return byName
    }

    /// The lines of a node's log that tell the story: elections, quorums, the sync's start and end.
    static func timeline(_ log: String) -> String {
        log.split(separator: "\n").filter { line in
            ["bootstrap", "election started", "won the election", "joined the quorum", "recovery done", "sync granted",
             "sync complete", "store sync", "serving sync", "sync served", "switching provider", "no heartbeat reply", "FINISH"]
                .contains { line.contains($0) }
        }.joined(separator: "\n")
    }
}
#endif
