#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// A measurement, not a check (opt-in: `MONSYNC_MEASURE=1`): how long one `monsync put` takes, from
/// process start to exit, on a healthy three-node ZeroMQ cluster and with one monitor down.
///
/// Three nodes with RocksDB stores and ``fastTimers``. Phases, in order: healthy; c (rank 2, a
/// peon) stopped with SIGSTOP, so it never answers; c running again and a (rank 0, the first
/// monitor of the map, and the leader) stopped with SIGSTOP; a killed. Each phase starts once the
/// remaining monitors are in one quorum (stopping a monitor makes the others elect again). Each phase runs
/// `MONSYNC_MEASURE_PUTS` (default 50) puts one after another, each a fresh process with
/// `--timeout 10`, after one warm-up put that waits out any election and the new leader's lease,
/// and prints the median, p90, p99 and maximum. The figures are in BENCHMARKS.md, "One monitor down".
///
/// ```
/// MONSYNC_MEASURE=1 swift test --skip-build --filter OneMonitorDownLatencyTests
/// MONSYNC_MEASURE=1 MONSYNC_MEASURE_PUTS=5 MONSYNC_TEST_BINARY=/path/to/old/monsync swift test --skip-build --filter OneMonitorDownLatencyTests
/// ```
@Suite("put latency with one monitor down (measurement)",
       .enabled(if: ProcessInfo.processInfo.environment["MONSYNC_MEASURE"] == "1", "set MONSYNC_MEASURE=1 to measure"),
       .timeLimit(.minutes(30)))
struct OneMonitorDownLatencyTests {
    /// One phase's put latencies, in milliseconds.
    struct Phase: Sendable, CustomStringConvertible {
        var name: String
        var milliseconds: [Double]
        var failures: Int

        func percentile(_ p: Double) -> Double {
            let sorted = milliseconds.sorted()
            guard !sorted.isEmpty else { return .nan }
            // Nearest rank: the smallest value with at least p of the samples at or below it.
            let rank = Int((p * Double(sorted.count)).rounded(.up))
            return sorted[max(0, min(sorted.count - 1, rank - 1))]
        }

        var description: String {
            name.padding(toLength: 28, withPad: " ", startingAt: 0)
                + String(format: " %3d puts, %d failed: median %7.1f  p90 %7.1f  p99 %7.1f  max %7.1f ms",
                         milliseconds.count, failures, percentile(0.5), percentile(0.9), percentile(0.99),
                         milliseconds.max() ?? .nan)
        }
    }

    static var puts: Int { Int(ProcessInfo.processInfo.environment["MONSYNC_MEASURE_PUTS"] ?? "") ?? 50 }

    func measure(_ name: String, cluster: NodeCluster) async throws -> Phase {
        let warm = try await cluster.run(["put", "warm-up", "1", "--timeout", "30"])
        try #require(warm.status == 0, "\(name): warm-up: \(warm)")
        let clock = ContinuousClock()
        var phase = Phase(name: name, milliseconds: [], failures: 0)
        for index in 0..<Self.puts {
            let started = clock.now
            let put = try await cluster.run(["put", "key-\(index)", "value-\(index)", "--timeout", "10"])
            let elapsed = started.duration(to: clock.now)
            if put.status == 0 {
                phase.milliseconds.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            } else {
                phase.failures += 1
            }
        }
        print("measure: \(phase)")
        return phase
    }

    @Test("monsync put: healthy, a peon stopped, rank 0 (the leader) stopped, rank 0 killed")
    func putLatency() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            let leader = try await cluster.waitForQuorum()
            print("measure: leader \(leader), \(Self.puts) puts per phase, binary \(monsyncPath)")
            var phases = [try await measure("healthy", cluster: cluster)]

            // A leader whose peon stops acknowledging its lease calls an election (after the lease-ack
            // timeout): wait for the new quorum, so the phase measures the client, not the election.
            cluster.nodes["c"]?.signal(SIGSTOP)
            _ = try await cluster.waitForQuorum(of: ["a", "b"])
            phases.append(try await measure("c (rank 2, peon) stopped", cluster: cluster))
            cluster.nodes["c"]?.signal(SIGCONT)
            _ = try await cluster.waitForQuorum()

            cluster.nodes["a"]?.signal(SIGSTOP)
            _ = try await cluster.waitForQuorum(of: ["b", "c"])
            phases.append(try await measure("a (rank 0, leader) stopped", cluster: cluster))
            cluster.nodes["a"]?.signal(SIGKILL)
            phases.append(try await measure("a (rank 0) killed", cluster: cluster))

            print("measure: summary")
            for phase in phases { print("measure: \(phase)") }
            #expect(phases.allSatisfy { !$0.milliseconds.isEmpty }, "every phase had successful puts")
        }
    }
}
#endif
