#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncCore
import MonSyncTestSupport
import MonSyncZeroMQ
import Testing
@testable import monsync

/// A measurement, not a check (opt-in: `MONSYNC_MEASURE=1`): the commit rate of a three-node ZeroMQ
/// cluster idle and under the dead-address attack of ``DeadAddressTests``, in one session.
///
/// The cluster and the attack are that test's: a, b and c run with RocksDB stores and the monmap
/// also names d and e, which never start; the test process sends STARTs naming dead REPLY_TO
/// addresses from 30 identities of its own, START_CHUNKS from requesters that die at once and from
/// routing ids that claim a dead address, and STARTs and START_CHUNKS as d (down) and e (bound for
/// a moment, then gone), every `MONSYNC_MEASURE_INTERVAL` seconds (default 2, the test's). Each
/// phase is one `monsync bench put --clients 16 --duration 10 --json` against a, b and c; the phases
/// alternate idle and attacked (`MONSYNC_MEASURE_REPEATS` attacked ones, default 1), starting and
/// ending idle. The attacker runs in this process on the same cores as the cluster, so its own CPU
/// time (printed per phase) is part of what an attacked phase pays.
///
/// ```
/// MONSYNC_MEASURE=1 swift test --filter DeadAddressThroughputTests
/// ```
@Suite("Commit rate under the dead-address attack (measurement)",
       .enabled(if: ProcessInfo.processInfo.environment["MONSYNC_MEASURE"] == "1", "set MONSYNC_MEASURE=1 to measure"),
       .timeLimit(.minutes(10)))
struct DeadAddressThroughputTests {
    static let benchArguments = ["bench", "put", "--clients", "16", "--duration", "10", "--json"]
    static let benchSeconds = 10.0

    struct Phase: Sendable {
        var attacked: Bool
        var summary: BenchSummary
        /// CPU seconds this process (the attacker) used during the phase.
        var attackerCPU: Double
        var attack: String
        /// Elections and bootstraps the nodes logged during the phase.
        var elections: Int
        /// The warnings and errors the nodes logged during the phase, counted by message.
        var warnings: String

        var line: String {
            let latency = summary.latencyMs
            return (attacked ? "attack" : "idle  ")
                + String(format: "  %7.1f ops/s  p50 %7.2f ms  p99 %7.2f ms  max %8.2f ms  %d ops  %d errors  %d elections/bootstraps  attacker CPU %.2f s",
                         summary.opsPerSecond, latency?.p50 ?? .nan, latency?.p99 ?? .nan, latency?.max ?? .nan,
                         summary.ops, summary.errors, elections, attackerCPU)
        }
    }

    @Test("bench put, idle and under the dead-address attack")
    func measure() async throws {
        let environment = ProcessInfo.processInfo.environment
        let interval = Double(environment["MONSYNC_MEASURE_INTERVAL"] ?? "") ?? 2
        let repeats = max(1, Int(environment["MONSYNC_MEASURE_REPEATS"] ?? "") ?? 1)
        try await withTemporaryDirectory { directory in
            let (names, nodes, addresses, monmap) = try await DeadAddressTests.startCluster(in: directory)
            defer { for node in nodes.values { node.signal(SIGKILL) } }

            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(40)
            var quorum: (leader: String, epoch: Int)?
            while quorum == nil && clock.now < deadline {
                quorum = DeadAddressTests.fullQuorum(await DeadAddressTests.status(monmap, names: names, timeout: 2), names: names)
                if quorum == nil { try await clock.sleep(for: .milliseconds(300)) }
            }
            try #require(quorum != nil, "no quorum of three: \(nodes.mapValues(\.stderrSoFar))")
            for index in 0..<3 {
                let put = try await monsync(["put", "warm-\(index)", "v", "--monmap", monmap, "--timeout", "10"])
                try #require(put.status == 0, "a write before the measurement: \(put)")
            }

            // The attackers, as DeadAddressTests makes them.
            var identities: [ZeroMQTransport] = []
            for _ in 0..<DeadAddressTests.startIdentities { identities.append(try await DeadAddressTests.startedTransport()) }
            let taken = Set(identities.map(\.localAddress.description) + addresses.values.map(\.description))
            var deadAddresses: [String] = (0..<6).map { "tcp://10.255.255.1:\(6789 + $0)" }
            while deadAddresses.count < 30 {
                let address = "tcp://127.0.0.1:\(freeTCPPort())"
                if !taken.contains(address) && !deadAddresses.contains(address) { deadAddresses.append(address) }
            }
            let raw = RawDealers()
            defer { raw.terminate() }
            let attack = DeadAddressAttack(nodes: names.map { addresses[$0]! }, identities: identities, deadAddresses: deadAddresses,
                                           deadMember: addresses["d"]!, dyingMember: addresses["e"]!, raw: raw)

            var phases: [Phase] = []
            for attacked in Array(repeating: [false, true], count: repeats).flatMap({ $0 }) + [false] {
                let logOffsets = nodes.mapValues { $0.stderrSoFar.utf8.count }
                let cpuBefore = Self.cpuSeconds()
                let bench: ProcessResult
                var sent = "none"
                if attacked {
                    // Rounds from now until the bench's end (its clients' warm-up included).
                    let rounds = Int((Self.benchSeconds + 2) / interval) + 1
                    async let counts = attack.run(rounds: rounds, interval: .milliseconds(Int(interval * 1000)), from: clock.now)
                    async let result = monsync(Self.benchArguments + ["--monmap", monmap], timeout: .seconds(120))
                    bench = try await result
                    sent = "\(await counts)"
                } else {
                    bench = try await monsync(Self.benchArguments + ["--monmap", monmap], timeout: .seconds(120))
                }
                let cpu = Self.cpuSeconds() - cpuBefore
                try #require(bench.status == 0, "\(bench)")
                let summary = try JSONDecoder().decode(BenchSummary.self, from: Data(bench.stdout.utf8))
                let logs = names.map { name in
                    (name, String(decoding: Array(nodes[name]!.stderrSoFar.utf8).dropFirst(logOffsets[name]!), as: UTF8.self))
                }
                let elections = logs.map { DeadAddressTests.electionLines($0.1).count }.reduce(0, +)
                phases.append(Phase(attacked: attacked, summary: summary, attackerCPU: cpu, attack: sent, elections: elections,
                                    warnings: Self.warnings(logs)))
                print("[measure] " + phases.last!.line + (phases.last!.warnings.isEmpty ? "" : "\n" + phases.last!.warnings))
            }

            let last = await DeadAddressTests.status(monmap, names: names, timeout: 2)
            let idle = phases.filter { !$0.attacked }
            let attackedPhases = phases.filter(\.attacked)
            func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(1, values.count)) }
            let idleRate = mean(idle.map(\.summary.opsPerSecond))
            let attackedRate = mean(attackedPhases.map(\.summary.opsPerSecond))
            // Each attacked phase against the idle phases either side of it (the rate drifts over a session).
            let bracketed = phases.indices.filter { phases[$0].attacked }.map { index in
                phases[index].summary.opsPerSecond / mean([phases[index - 1], phases[index + 1]].map(\.summary.opsPerSecond))
            }
            print("""
                [measure] bench: monsync \(Self.benchArguments.joined(separator: " ")) --monmap <a,b,c>; attack every \(interval) s \
                from \(DeadAddressTests.startIdentities) identities (monmap with d and e down)
                \(phases.map { "  " + $0.line }.joined(separator: "\n"))
                  attack sent (per attacked phase): \(attackedPhases.map(\.attack).joined(separator: " | "))
                \(names.compactMap { name in last[name].flatMap { $0.sync.isEmpty ? nil : "  \(name) sync: \($0.sync)" } }.joined(separator: "\n"))
                  idle mean \(String(format: "%.1f", idleRate)) ops/s, attacked mean \(String(format: "%.1f", attackedRate)) ops/s: \
                ratio \(String(format: "%.3f", attackedRate / idleRate)); each attacked phase over the idle ones either side: \
                \(bracketed.map { String(format: "%.3f", $0) }.joined(separator: ", ")) (mean \(String(format: "%.3f", mean(bracketed))))
                """)
            #expect(phases.allSatisfy { $0.summary.ops > 0 })
            for identity in identities { await identity.shutdown() }
        }
    }

    /// The warning and error lines of `logs` (by node), counted by node, level and message.
    static func warnings(_ logs: [(String, String)]) -> String {
        var counts: [String: Int] = [:]
        for (name, log) in logs {
            for line in log.split(separator: "\n") {
                // "<date> <level> <label>: <metadata> [<module>] <message>": keep the level and the message.
                guard let level = line.split(separator: " ").dropFirst().first, ["warning", "error", "critical"].contains(level) else { continue }
                let message = line.range(of: "] ").map { line[$0.upperBound...] } ?? line
                counts["\(name) \(level): \(message)", default: 0] += 1
            }
        }
        return counts.sorted { $0.key < $1.key }.map { "    \($0.value)× \($0.key)" }.joined(separator: "\n")
    }

    /// CPU seconds (user + system) this process has used.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
#endif
