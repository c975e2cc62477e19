import Foundation
import Histogram
import MonSyncCore

// The pure parts of `monsync bench`: the pacing schedule, the seeded choice of operations, keys and
// values, and the recorder that turns outcomes into the summary. No clock, no network: the command
// (BenchCommand.swift) feeds them times and outcomes, and the tests feed them numbers.

/// One kind of request the benchmark sends.
enum BenchOperation: String, CaseIterable, Codable, Sendable {
    case put, get
}

/// Why a request did not succeed; every kind is counted, none stops the run.
enum BenchErrorKind: String, CaseIterable, Codable, Sendable {
    /// No reply at all within `--timeout`: the outcome of a write is unknown.
    case timeout
    /// Monitors replied, but only with no_quorum, not_leader or retry until `--timeout` (a retried
    /// write may still have been applied: its outcome is unknown too).
    case unavailable
    /// A definite refusal: invalid or failed.
    case refused
    /// The request was cancelled (the client was shutting down).
    case cancelled
}

/// When each request is due: the open-loop start schedule.
///
/// With a target rate R over N clients, request number `i` of the whole run is due at `i / R`
/// seconds after the start, and is client `i mod N`'s: client `c`'s `k`-th request is the run's
/// request `k·N + c`. The clients' starts are thus interleaved, not bunched. A client that falls
/// behind its schedule starts the next request at once, and its latency counts from the time it was
/// due, so a slow cluster shows up as latency (coordinated omission corrected) rather than as a
/// benchmark that quietly sends less. Without a rate (0) nothing is scheduled: each client sends
/// its next request as soon as the previous one is answered (closed loop).
struct BenchSchedule: Sendable, Equatable {
    /// Total requests per second over all clients; 0 means as fast as possible.
    var rate: Double
    /// The number of clients sharing the rate.
    var clients: Int

    var isPaced: Bool { rate > 0 }

    /// When client `client`'s `op`-th request (from 0) is due, after the start; `nil` when unpaced.
    func offset(client: Int, op: Int) -> Duration? {
        guard isPaced else { return nil }
        return Self.duration(seconds: Double(op * clients + client) / rate)
    }

    /// How many requests the schedule plans within `duration` (those due before its end); `nil` when unpaced.
    func planned(within duration: Duration) -> Int? {
        guard isPaced else { return nil }
        let seconds = duration.inSeconds
        // Request i is due at i/rate < seconds: i < seconds·rate.
        return Int((seconds * rate).rounded(.up))
    }

    static func duration(seconds: Double) -> Duration { .nanoseconds(Int64((seconds * 1e9).rounded())) }
}

/// The seeded choices of one client: which operation, which key, which value.
///
/// Every stream follows from `(seed, client)` alone, and the key stream is separate from the
/// operation stream, so `bench get` run with the `--seed`, `--keys` and `--clients` of an earlier
/// `bench put` reads, request for request, the keys that run wrote.
struct BenchStream: Sendable {
    private var keyGenerator: SeededRandomNumberGenerator
    private var operationGenerator: SeededRandomNumberGenerator
    private var value: [UInt8]
    private var counter: UInt64 = 0
    let keys: Int
    /// The probability that a request is a get (1 for `bench get`, 0 for `bench put`).
    let readRatio: Double

    init(seed: UInt64, client: Int, keys: Int, valueSize: Int, readRatio: Double) {
        // Distinct, well-mixed seeds per client and per stream.
        var root = SeededRandomNumberGenerator(seed: seed ^ (UInt64(client) &* 0xD6E8_FEB8_6659_FD93))
        keyGenerator = SeededRandomNumberGenerator(seed: root.next())
        operationGenerator = SeededRandomNumberGenerator(seed: root.next())
        var valueGenerator = SeededRandomNumberGenerator(seed: root.next())
        value = valueGenerator.bytes(count: valueSize)
        self.keys = max(1, keys)
        self.readRatio = readRatio
    }

    /// The name of key number `index`: `bench-00000042`.
    static func key(_ index: Int) -> String {
        let digits = String(index)
        return "bench-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The next request: its operation and key.
    mutating func next() -> (operation: BenchOperation, key: String) {
        let operation: BenchOperation = operationGenerator.chance(readRatio) ? .get : .put
        return (operation, Self.key(Int.random(in: 0..<keys, using: &keyGenerator)))
    }

    /// The value of the next put: the client's random bytes, its first 8 carrying a counter so no two are equal.
    mutating func nextValue() -> [UInt8] {
        counter += 1
        withUnsafeBytes(of: counter.littleEndian) { counterBytes in
            for index in 0..<min(8, value.count) { value[index] = counterBytes[index] }
        }
        return value
    }
}

/// Latency percentiles in milliseconds (microsecond resolution, 3 significant digits).
struct LatencySummary: Codable, Sendable, Equatable {
    var min: Double
    var mean: Double
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double

    /// The summary of a histogram of microseconds; `nil` when it holds no value.
    init?(microseconds histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else { return nil }
        func ms(_ microseconds: UInt64) -> Double { Double(microseconds) / 1000 }
        min = ms(histogram.min)
        mean = histogram.mean.rounded() / 1000
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p99 = ms(histogram.valueAtPercentile(99))
        p999 = ms(histogram.valueAtPercentile(99.9))
        max = ms(histogram.maxRecorded)
    }

    /// `p50 1.23  p90 2.50  p99 4.10  p99.9 9.00  max 12.3 ms`.
    var text: String {
        func f(_ value: Double) -> String { BenchSummary.format(value, decimals: value < 10 ? 3 : value < 1000 ? 2 : 0) }
        return "p50 \(f(p50))  p90 \(f(p90))  p99 \(f(p99))  p99.9 \(f(p999))  max \(f(max)) ms"
    }
}

/// Counts outcomes and keeps the latency histograms; one per run, shared by the clients under a lock.
struct BenchRecorder: Sendable {
    /// The largest latency a histogram tells apart (larger ones are recorded as this): one hour and a bit.
    static let highestMicroseconds: UInt64 = 4_000_000_000

    /// Latency from when each request was due (its start when unpaced) to its answer, in microseconds, per operation.
    private(set) var latency: [BenchOperation: Histogram<UInt64>] = [:]
    /// Latency from when each request was sent to its answer, in microseconds, per operation.
    private(set) var service: [BenchOperation: Histogram<UInt64>] = [:]
    private(set) var successes: [BenchOperation: Int] = [:]
    private(set) var failures: [BenchOperation: Int] = [:]
    private(set) var errors: [BenchErrorKind: Int] = [:]
    /// Gets of a key that had no value (successes).
    private(set) var misses = 0

    var ops: Int { successes.values.reduce(0, +) }
    var errorCount: Int { errors.values.reduce(0, +) }

    /// A request answered: `latency` from when it was due, `service` from when it was sent.
    mutating func recordSuccess(_ operation: BenchOperation, latency: Duration, service: Duration, miss: Bool = false) {
        successes[operation, default: 0] += 1
        if miss { misses += 1 }
        Self.record(latency, into: &self.latency[operation, default: Self.histogram()])
        Self.record(service, into: &self.service[operation, default: Self.histogram()])
    }

    /// A request that failed.
    mutating func recordError(_ operation: BenchOperation, _ kind: BenchErrorKind) {
        failures[operation, default: 0] += 1
        errors[kind, default: 0] += 1
    }

    /// The summary of the run so far.
    func summary(_ configuration: BenchConfiguration, elapsed: Duration) -> BenchSummary {
        let seconds = elapsed.inSeconds
        let schedule = BenchSchedule(rate: configuration.rate, clients: configuration.clients)
        let planned = schedule.planned(within: .nanoseconds(Int64((configuration.durationSeconds * 1e9).rounded())))
        var all = Self.histogram(), allService = Self.histogram()
        for histogram in latency.values { all.add(histogram) }
        for histogram in service.values { allService.add(histogram) }
        var perOperation: [String: BenchSummary.OperationSummary] = [:]
        for operation in BenchOperation.allCases where successes[operation] != nil || failures[operation] != nil {
            perOperation[operation.rawValue] = BenchSummary.OperationSummary(
                ops: successes[operation] ?? 0, errors: failures[operation] ?? 0,
                latencyMs: latency[operation].flatMap(LatencySummary.init(microseconds:)))
        }
        let attempted = ops + errorCount
        return BenchSummary(
            command: configuration.command, clients: configuration.clients, connections: configuration.connections,
            rate: configuration.rate,
            durationSeconds: configuration.durationSeconds, valueSize: configuration.valueSize, keys: configuration.keys,
            readRatio: configuration.readRatio, seed: configuration.seed, timeoutSeconds: configuration.timeoutSeconds,
            elapsedSeconds: (seconds * 1000).rounded() / 1000,
            ops: ops, opsPerSecond: seconds > 0 ? (Double(ops) / seconds * 10).rounded() / 10 : 0,
            errors: errorCount,
            errorsByKind: Dictionary(uniqueKeysWithValues: BenchErrorKind.allCases.map { ($0.rawValue, errors[$0] ?? 0) }),
            misses: misses,
            planned: planned, notStarted: planned.map { Swift.max(0, $0 - attempted) },
            latencyMs: LatencySummary(microseconds: all),
            serviceMs: schedule.isPaced ? LatencySummary(microseconds: allService) : nil,
            operations: perOperation)
    }

    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestMicroseconds, numberOfSignificantValueDigits: .three)
    }

    private static func record(_ duration: Duration, into histogram: inout Histogram<UInt64>) {
        let (seconds, attoseconds) = duration.components
        let microseconds = seconds < 0 ? 0 : UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
        _ = histogram.record(Swift.min(Swift.max(microseconds, 1), highestMicroseconds))
    }
}

/// What a run was asked to do, as the summary repeats it.
struct BenchConfiguration: Sendable, Equatable {
    var command: String
    var clients: Int
    /// The connections the clients share (as many as clients by default).
    var connections: Int
    var rate: Double
    var durationSeconds: Double
    var valueSize: Int
    var keys: Int
    var readRatio: Double
    var seed: UInt64
    var timeoutSeconds: Double
}

/// The result of a run: what `--json` prints (one object on one line) and the text summary renders.
struct BenchSummary: Codable, Sendable, Equatable {
    struct OperationSummary: Codable, Sendable, Equatable {
        var ops: Int
        var errors: Int
        var latencyMs: LatencySummary?
    }

    var command: String
    var clients: Int
    /// The connections (reply addresses, MonitorClients) the clients shared.
    var connections: Int
    /// The target rate in requests per second (0: as fast as possible).
    var rate: Double
    var durationSeconds: Double
    var valueSize: Int
    var keys: Int
    var readRatio: Double
    var seed: UInt64
    var timeoutSeconds: Double
    /// From the start until the last client's last answer (the duration plus the requests in flight at its end).
    var elapsedSeconds: Double
    /// Requests answered with success (a get of a missing key included).
    var ops: Int
    var opsPerSecond: Double
    var errors: Int
    /// Every ``BenchErrorKind``, with 0 for those that did not happen.
    var errorsByKind: [String: Int]
    /// Gets of keys that had no value.
    var misses: Int
    /// Paced runs: the requests due before the duration's end, and those of them never sent (the clients fell behind).
    var planned: Int?
    var notStarted: Int?
    /// Latency of the successful requests, counted from when each was due; absent when none succeeded.
    var latencyMs: LatencySummary?
    /// Paced runs: latency counted from when each request was actually sent.
    var serviceMs: LatencySummary?
    /// The same, per operation (`put`, `get`).
    var operations: [String: OperationSummary]

    /// The summary as one line of JSON, keys sorted.
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// `16 clients`, or `16 clients on 2 connection(s)` when they share fewer connections.
    static func clients(_ clients: Int, on connections: Int) -> String {
        connections == clients ? "\(clients) clients" : "\(clients) clients on \(connections) connection(s)"
    }

    /// The summary as text, for people.
    var text: String {
        var lines: [String] = []
        let pace = rate > 0 ? "target \(Self.format(rate, decimals: rate < 10 ? 1 : 0)) ops/s" : "as fast as possible"
        let mix = command == "mixed" ? ", \(Self.format(readRatio * 100, decimals: 0))% reads" : ""
        lines.append("bench \(command): \(Self.clients(clients, on: connections)), \(Self.format(durationSeconds, decimals: durationSeconds < 10 ? 1 : 0)) s, "
            + "\(valueSize)-byte values, \(keys) keys\(mix), \(pace), seed \(seed)")
        lines.append("ops       \(ops) in \(Self.format(elapsedSeconds, decimals: 2)) s: \(Self.format(opsPerSecond, decimals: 1)) ops/s"
            + (misses > 0 ? " (\(misses) gets found no value)" : ""))
        let kinds = BenchErrorKind.allCases.map { "\($0.rawValue) \(errorsByKind[$0.rawValue] ?? 0)" }.joined(separator: ", ")
        lines.append("errors    \(errors) (\(kinds))")
        if let planned, let notStarted {
            lines.append("schedule  \(planned) requests due, " + (notStarted == 0 ? "all sent" : "\(notStarted) not sent before the end (the clients fell behind)"))
        }
        lines.append("latency   " + (latencyMs?.text ?? "none: no request succeeded"))
        if let serviceMs { lines.append("service   " + serviceMs.text + " (from the actual send)") }
        if operations.count > 1 {
            for (name, operation) in operations.sorted(by: { $0.key > $1.key }) {
                lines.append("  \(name.padding(toLength: 4, withPad: " ", startingAt: 0))    \(operation.ops) ops, \(operation.errors) errors; "
                    + (operation.latencyMs?.text ?? "no latency"))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `value` with `decimals` decimals, no locale.
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        if decimals <= 0 { return String(Int64(value.rounded())) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale), fraction = String(scaled % Int64(scale))
        return (value < 0 && scaled != 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}

/// The progress line printed every second.
struct BenchProgress: Sendable, Equatable {
    var elapsed: Duration
    var ops: Int
    var errors: Int
    /// Operations per second over the last interval.
    var currentRate: Double

    /// `   3 s  12345 ops  4100 ops/s  0 errors`.
    var text: String {
        let seconds = BenchSummary.format(elapsed.inSeconds, decimals: 0)
        return String(repeating: " ", count: max(0, 4 - seconds.count)) + seconds + " s  \(ops) ops  "
            + "\(BenchSummary.format(currentRate, decimals: 0)) ops/s  \(errors) errors"
    }
}

/// One request of a run, as `--latency-log` writes it.
struct BenchSample: Sendable, Equatable {
    /// When the request was due (its start when unpaced), in Unix seconds.
    var due: Double
    /// From when it was due to its answer.
    var latency: Duration
    /// From when it was sent to its answer.
    var service: Duration
    var operation: BenchOperation
    /// `ok`, `miss` (a get of a key with no value), or the error's kind.
    var outcome: String

    static let header = "due_unix_s,latency_s,service_s,op,outcome"

    /// The CSV line (microsecond resolution).
    var line: String {
        "\(BenchSummary.format(due, decimals: 6)),\(BenchSummary.format(latency.inSeconds, decimals: 6)),"
            + "\(BenchSummary.format(service.inSeconds, decimals: 6)),\(operation.rawValue),\(outcome)"
    }

    /// Writes `samples`, in the order they were due, under the header.
    static func write(_ samples: [BenchSample], to path: String) throws {
        let lines = [header] + samples.sorted { $0.due < $1.due }.map(\.line)
        do {
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw UserFacingError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }
}
