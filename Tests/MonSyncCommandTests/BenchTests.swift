import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing
@testable import monsync

/// `monsync bench`: its pure parts (the pacing schedule, the seeded streams, the percentile summary, the
/// JSON shape), and the built binary against a three-node cluster of real processes.
@Suite("monsync bench")
struct BenchTests {
    // MARK: The schedule

    @Test("the schedule interleaves the clients: request k·N + c is client c's k-th, due at (k·N + c) / rate")
    func scheduleInterleaves() {
        let schedule = BenchSchedule(rate: 100, clients: 4)
        #expect(schedule.offset(client: 0, op: 0) == .zero)
        #expect(schedule.offset(client: 1, op: 0) == .milliseconds(10))
        #expect(schedule.offset(client: 3, op: 0) == .milliseconds(30))
        #expect(schedule.offset(client: 0, op: 1) == .milliseconds(40))
        #expect(schedule.offset(client: 3, op: 2) == .milliseconds(110))

        // Every client's requests due within one second together are the run's 100, each 10 ms after the last.
        var offsets: [Duration] = []
        for client in 0..<4 {
            var op = 0
            while let offset = schedule.offset(client: client, op: op), offset < .seconds(1) {
                offsets.append(offset)
                op += 1
            }
        }
        #expect(offsets.count == schedule.planned(within: .seconds(1)))
        #expect(offsets.sorted() == (0..<100).map { Duration.milliseconds(10 * $0) })
    }

    @Test("planned counts the requests due before the end; an unpaced run plans nothing")
    func schedulePlanned() {
        #expect(BenchSchedule(rate: 100, clients: 16).planned(within: .seconds(10)) == 1000)
        #expect(BenchSchedule(rate: 3, clients: 2).planned(within: .seconds(1)) == 3, "due at 0, 1/3 and 2/3 s")
        #expect(BenchSchedule(rate: 100, clients: 1).planned(within: .milliseconds(1005)) == 101)
        let unpaced = BenchSchedule(rate: 0, clients: 8)
        #expect(!unpaced.isPaced)
        #expect(unpaced.offset(client: 3, op: 5) == nil)
        #expect(unpaced.planned(within: .seconds(10)) == nil)
    }

    // MARK: The seeded streams

    @Test("the streams follow from the seed and client; get reads the keys put wrote")
    func streams() {
        func keys(_ stream: BenchStream, _ count: Int) -> [String] {
            var stream = stream
            return (0..<count).map { _ in stream.next().key }
        }
        let put = BenchStream(seed: 7, client: 2, keys: 1000, valueSize: 100, readRatio: 0)
        let get = BenchStream(seed: 7, client: 2, keys: 1000, valueSize: 100, readRatio: 1)
        #expect(keys(put, 200) == keys(get, 200), "same seed, client and key space: the same keys, whatever the operations")
        #expect(keys(put, 200) != keys(BenchStream(seed: 7, client: 3, keys: 1000, valueSize: 100, readRatio: 0), 200))
        #expect(keys(put, 200) != keys(BenchStream(seed: 8, client: 2, keys: 1000, valueSize: 100, readRatio: 0), 200))
        #expect(keys(put, 2000).allSatisfy { $0.hasPrefix("bench-") && Int($0.dropFirst(6))! < 1000 && $0.count == 14 })
        #expect(BenchStream.key(42) == "bench-00000042")

        var mixed = BenchStream(seed: 1, client: 0, keys: 10, valueSize: 0, readRatio: 0.25)
        let gets = (0..<10_000).filter { _ in mixed.next().operation == .get }.count
        #expect((2_200...2_800).contains(gets), "about a quarter are gets: \(gets)")
        var writer = put
        #expect((0..<100).allSatisfy { _ in writer.next().operation == .put })

        var values = BenchStream(seed: 7, client: 0, keys: 10, valueSize: 100, readRatio: 0)
        let first = values.nextValue(), second = values.nextValue()
        #expect(first.count == 100 && second.count == 100)
        #expect(first != second && first[8...] == second[8...], "the same random bytes, a different counter in the first 8")
        var tiny = BenchStream(seed: 7, client: 0, keys: 10, valueSize: 3, readRatio: 0)
        #expect(tiny.nextValue().count == 3)
    }

    // MARK: The summary

    @Test("percentiles of 1 … 1000 ms, counts, errors by kind, ops/s")
    func percentiles() throws {
        var recorder = BenchRecorder()
        for ms in 1...1000 {
            recorder.recordSuccess(.put, latency: .milliseconds(ms), service: .milliseconds(ms), miss: false)
        }
        recorder.recordSuccess(.get, latency: .microseconds(500), service: .microseconds(400), miss: true)
        recorder.recordError(.put, .timeout)
        recorder.recordError(.put, .timeout)
        recorder.recordError(.get, .unavailable)
        let summary = recorder.summary(configuration(command: "mixed"), elapsed: .seconds(4))
        #expect(summary.ops == 1001 && summary.errors == 3 && summary.misses == 1)
        #expect(summary.opsPerSecond == 250.3)
        #expect(summary.errorsByKind == ["timeout": 2, "unavailable": 1, "refused": 0, "cancelled": 0])
        #expect(summary.planned == nil && summary.notStarted == nil && summary.serviceMs == nil, "unpaced")

        let latency = try #require(summary.latencyMs)
        // HdrHistogram keeps 3 significant digits: each value within 0.1 %.
        func near(_ value: Double, _ expected: Double) -> Bool { abs(value - expected) <= expected * 0.001 + 0.001 }
        #expect(near(latency.p50, 500) && near(latency.p90, 900) && near(latency.p99, 990) && near(latency.p999, 999), "\(latency)")
        #expect(near(latency.max, 1000) && near(latency.min, 0.5), "\(latency)")
        #expect(latency.p50 <= latency.p90 && latency.p90 <= latency.p99 && latency.p99 <= latency.p999 && latency.p999 <= latency.max)

        let put = try #require(summary.operations["put"]), get = try #require(summary.operations["get"])
        #expect(put.ops == 1000 && put.errors == 2 && get.ops == 1 && get.errors == 1)
        #expect(get.latencyMs?.p50 == 0.5)
    }

    @Test("a paced run reports the schedule and the service time; latency counts from when a request was due")
    func pacedSummary() throws {
        var recorder = BenchRecorder()
        // Due 30 ms before it was sent, answered 2 ms after: the cluster was slow, the latency shows it.
        for _ in 0..<90 { recorder.recordSuccess(.put, latency: .milliseconds(32), service: .milliseconds(2)) }
        var paced = configuration(command: "put")
        paced.rate = 100
        paced.durationSeconds = 1
        let summary = recorder.summary(paced, elapsed: .seconds(1))
        #expect(summary.planned == 100 && summary.notStarted == 10)
        #expect(summary.latencyMs?.p50 == 32 && summary.serviceMs?.p50 == 2)
        #expect(summary.text.contains("schedule  100 requests due, 10 not sent before the end"), "\(summary.text)")
    }

    @Test("--json is one line holding one object with every field scripts read")
    func jsonShape() throws {
        var recorder = BenchRecorder()
        recorder.recordSuccess(.put, latency: .milliseconds(3), service: .milliseconds(3))
        recorder.recordError(.put, .refused)
        let json = try recorder.summary(configuration(command: "put"), elapsed: .seconds(2)).json()
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["command", "clients", "connections", "rate", "durationSeconds", "valueSize", "keys", "readRatio", "seed",
                                     "timeoutSeconds", "elapsedSeconds", "ops", "opsPerSecond", "errors", "errorsByKind", "misses",
                                     "latencyMs", "operations"])
        #expect(object["command"] as? String == "put" && object["ops"] as? Int == 1 && object["errors"] as? Int == 1)
        #expect(object["opsPerSecond"] as? Double == 0.5)
        #expect(object["errorsByKind"] as? [String: Int] == ["timeout": 0, "unavailable": 0, "refused": 1, "cancelled": 0])
        let latency = try #require(object["latencyMs"] as? [String: Double])
        #expect(Set(latency.keys) == ["min", "mean", "p50", "p90", "p99", "p999", "max"])
        #expect(latency["p50"] == 3 && latency["max"] == 3)
        let operations = try #require(object["operations"] as? [String: [String: Any]])
        #expect(operations["put"]?["ops"] as? Int == 1)
        #expect(try JSONDecoder().decode(BenchSummary.self, from: Data(json.utf8)).ops == 1, "it decodes back")

        // Nothing succeeded: no latency object at all, and the text says so.
        var failed = BenchRecorder()
        failed.recordError(.get, .timeout)
        let empty = failed.summary(configuration(command: "get"), elapsed: .seconds(1))
        #expect(empty.latencyMs == nil)
        #expect(try !empty.json().contains("latencyMs"))
        #expect(empty.text.contains("latency   none: no request succeeded"), "\(empty.text)")
        #expect(empty.text.contains("errors    1 (timeout 1, unavailable 0, refused 0, cancelled 0)"), "\(empty.text)")
    }

    @Test("the text summary and the progress line")
    func text() {
        var recorder = BenchRecorder()
        recorder.recordSuccess(.put, latency: .microseconds(1234), service: .microseconds(1234))
        let text = recorder.summary(configuration(command: "put"), elapsed: .milliseconds(2500)).text
        #expect(text.hasPrefix("bench put: 4 clients, 2.0 s, 100-byte values, 10000 keys, as fast as possible, seed 1\n"), "\(text)")
        #expect(text.contains("ops       1 in 2.50 s: 0.4 ops/s"), "\(text)")
        #expect(text.contains("latency   p50 1.234  p90 1.234  p99 1.234  p99.9 1.234  max 1.234 ms"), "\(text)")
        var shared = configuration(command: "put")
        shared.connections = 2
        #expect(recorder.summary(shared, elapsed: .seconds(1)).text.hasPrefix("bench put: 4 clients on 2 connection(s), 2.0 s,"))
        #expect(BenchProgress(elapsed: .milliseconds(3004), ops: 12345, errors: 2, currentRate: 4100.4).text == "   3 s  12345 ops  4100 ops/s  2 errors")
        #expect(BenchSummary.format(1.23456, decimals: 3) == "1.235" && BenchSummary.format(0.05, decimals: 2) == "0.05")
        #expect(BenchSummary.format(-0.5, decimals: 1) == "-0.5" && BenchSummary.format(2.6, decimals: 0) == "3")
    }

    private func configuration(command: String) -> BenchConfiguration {
        BenchConfiguration(command: command, clients: 4, connections: 4, rate: 0, durationSeconds: 2, valueSize: 100, keys: 10_000,
                           readRatio: command == "get" ? 1 : 0, seed: 1, timeoutSeconds: 5)
    }
}

// MARK: The binary

extension BenchTests {
    @Test("bench --help, and a wrong --read-ratio is a usage error", arguments: [["bench", "--help"], ["bench", "put", "--help"],
                                                                                ["bench", "get", "--help"], ["bench", "mixed", "--help"]])
    func help(_ arguments: [String]) async throws {
        let result = try await monsync(arguments)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE: monsync bench"), "\(result)")
        let bad = try await monsync(["bench", "mixed", "--read-ratio", "2", "--mon", "tcp://127.0.0.1:1"])
        #expect(bad.status == 64 && bad.stderr.contains("--read-ratio must be between 0 and 1"), "\(bad)")
    }
}

#if ZeroMQ
extension BenchTests {
    @Test("an unreachable cluster ends in one sentence and exit 1", .timeLimit(.minutes(1)))
    func unreachable() async throws {
        let monmap = makeMonmap(["a", "b", "c"])
        let result = try await monsync(["bench", "put", "--clients", "2", "--duration", "1", "--timeout", "1", "--monmap", monmap])
        #expect(result.status == 1, "\(result)")
        #expect(result.errorLines.last?.hasPrefix("Error: no monitor answered within 1 s (tried a=tcp://127.0.0.1:") == true, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
    }

    @Test("bench put then bench get against three real nodes", .timeLimit(.minutes(1)))
    func cluster() async throws {
        let monmap = makeMonmap(["a", "b", "c"])
        let nodes = try await ["a", "b", "c"].asyncMap { name in
            try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", "memory"] + fastTimers)
        }
        defer { for node in nodes { node.signal(SIGKILL) } }
        // All three in the quorum first, so no election (a late joiner's) falls inside the measured run.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        var quorum = false
        while !quorum && clock.now < deadline {
            let status = try await monsync(["status", "--monmap", monmap, "--timeout", "2", "--json"])
            if status.status == 0, let rows = try? statusMonitors(status.stdout) {
                quorum = rows.allSatisfy { ($0["quorum"] as? [String])?.count == 3 }
            }
            if !quorum { try await clock.sleep(for: .milliseconds(200)) }
        }
        try #require(quorum, "no quorum of 3 within 20 s: \(nodes.map(\.stderrSoFar))")
        let common = ["--clients", "4", "--keys", "200", "--seed", "3", "--timeout", "10", "--json", "--monmap", monmap]
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bench-latency-\(UInt64.random(in: 1 ... .max)).csv").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let before = Date().timeIntervalSince1970
        let put = try await monsync(["bench", "put", "--duration", "2", "--latency-log", log] + common)
        #expect(put.status == 0, "\(put) \(nodes.map(\.stderrSoFar))")
        let written = try Self.check(put, command: "put")
        #expect(put.stderr.contains(" s  "), "the progress lines go to standard error: \(put.stderr)")
        // The latency log: the header, then one line per request, in the order they were due.
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "due_unix_s,latency_s,service_s,op,outcome")
        let rows = lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.count == written["ops"] as? Int, "one line per answered request: \(rows.count) lines, \(written)")
        let dues = rows.compactMap { Double($0[0]) }
        #expect(dues.count == rows.count && dues == dues.sorted() && (dues.first ?? 0) >= before - 1 && (dues.last ?? 0) <= Date().timeIntervalSince1970)
        #expect(rows.allSatisfy { $0.count == 5 && $0[3] == "put" && $0[4] == "ok" && (Double($0[1]) ?? -1) > 0 && (Double($0[2]) ?? -1) > 0 })

        let get = try await monsync(["bench", "get", "--duration", "1"] + common)
        #expect(get.status == 0, "\(get)")
        let read = try Self.check(get, command: "get")

        // Four clients sharing two connections: several requests in flight on each MonitorClient.
        let sharing = try await monsync(["bench", "put", "--duration", "1", "--connections", "2"] + common)
        #expect(sharing.status == 0, "\(sharing)")
        let shared = try Self.check(sharing, command: "put")
        #expect(shared["connections"] as? Int == 2 && shared["clients"] as? Int == 4)
        #expect(sharing.stderr.contains("4 clients on 2 connection(s) ready"), "\(sharing.stderr)")
        #expect(read["misses"] as? Int ?? -1 < read["ops"] as? Int ?? 0, "most keys were written by the put run: \(get.stdout), wrote \(written["ops"] ?? 0)")

        // SIGINT ends a long run early, with the summary of the run so far.
        let long = try await RunningProcess(["bench", "put", "--duration", "600", "--rate", "50"] + common)
        let started = clock.now
        while !long.stderrSoFar.contains(" 1 s ") && clock.now < started + .seconds(20) { try await clock.sleep(for: .milliseconds(100)) }
        long.signal(SIGINT)
        let interrupted = try await long.wait(timeout: .seconds(20))
        #expect(interrupted.status == 0 && interrupted.stderr.contains("interrupted after"), "\(interrupted)")
        let partial = try Self.check(interrupted, command: "put")
        // Due until the interrupt, not for 600 s: at most one request per client was due but unsent as it came.
        #expect((partial["notStarted"] as? Int ?? 99) <= 4 && (partial["elapsedSeconds"] as? Double ?? 600) < 30,
                "nothing counted as due after the interrupt: \(interrupted.stdout)")
    }

    /// The summary of a successful run: one JSON object, ops > 0, no errors, ordered percentiles.
    private static func check(_ result: ProcessResult, command: String) throws -> [String: Any] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        #expect(object["command"] as? String == command)
        #expect(object["ops"] as? Int ?? 0 > 0, "\(result)")
        #expect(object["errors"] as? Int == 0, "\(result)")
        #expect(object["opsPerSecond"] as? Double ?? 0 > 0, "\(result)")
        let latency = try #require(object["latencyMs"] as? [String: Double], "\(result)")
        let p50 = try #require(latency["p50"]), p99 = try #require(latency["p99"]), max = try #require(latency["max"])
        #expect(p50 > 0 && p50 <= p99 && p99 <= max, "\(latency)")
        return object
    }
}
#endif
