import ArgumentParser
import Foundation
import Logging
import MonSyncCore
import MonSyncMonitor

/// `monsync bench put|get|mixed`: a load generator in the spirit of `rados bench` and etcd's `benchmark`.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Load the cluster with concurrent clients; report throughput and latency percentiles.",
        discussion: """
        Each of --clients clients keeps one request in flight. By default each has its own connection \
        (its own reply address and MonitorClient), opened once and reused for every request; with \
        --connections N the clients share N connections, client i the (i mod N)-th, with several \
        requests in flight on each (etcd's benchmark --conns; rados bench's one client with -t ops). \
        With --rate the \
        requests follow a fixed start schedule shared by the clients (open loop): a request's latency \
        counts from when it was due, so a slow cluster shows as latency, not as a lower sending rate. \
        A progress line goes to standard error every second; the summary (or --json) to standard output. \
        SIGINT or SIGTERM ends the run early: nothing more is sent, the requests in flight are awaited, and \
        the summary covers the run so far. Exits 1 when no request succeeded.

        Example:
          monsync bench put --clients 16 --duration 10 --monmap a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002
        """,
        subcommands: [BenchPutCommand.self, BenchGetCommand.self, BenchMixedCommand.self])
}

/// The options of every `bench` subcommand.
struct BenchOptions: ParsableArguments {
    @Option(help: "Concurrent clients, each with one request in flight.")
    var clients = 16

    @Option(help: ArgumentHelp("Connections the clients share, each its own reply address and MonitorClient, reused for every request (0: one per client).",
                               valueName: "n"))
    var connections = 0

    @Option(help: ArgumentHelp("Target requests per second over all clients, on a fixed start schedule (0: as fast as possible).",
                               valueName: "ops"))
    var rate: Double = 0

    @Option(help: ArgumentHelp("Seconds to send requests for (those in flight at the end are awaited).", valueName: "s"))
    var duration: Double = 10

    @Option(help: ArgumentHelp("Bytes per value written.", valueName: "bytes"))
    var valueSize = 100

    @Option(help: ArgumentHelp("The key space: keys bench-00000000 … bench-<N-1>, chosen uniformly at random.", valueName: "n"))
    var keys = 10_000

    @Option(help: "Seed of the choice of keys, values and operations (the same seed, keys and clients give the same requests).")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("""
        Write every request to this file as CSV, one line each: when it was due (Unix seconds), its latency and \
        service time (seconds), the operation, and the outcome (ok, miss, or the error's kind). Like fio's latency log.
        """, valueName: "file"))
    var latencyLog: String?

    /// `--monmap`/`--mon`/`--config`, `--timeout` (per request), `--json`, `--log-level`.
    @OptionGroup var client: ClientOptions

    /// How many connections the run opens.
    var connectionCount: Int { connections == 0 ? clients : connections }

    func validate() throws {
        guard (1...1024).contains(clients) else { throw ValidationError("--clients must be between 1 and 1024 (got \(clients)).") }
        guard (0...clients).contains(connections) else {
            throw ValidationError("--connections must be between 0 (one per client) and --clients (got \(connections)).")
        }
        guard rate >= 0 && rate.isFinite else { throw ValidationError("--rate must be 0 (as fast as possible) or a positive number (got \(rate)).") }
        guard duration > 0 && duration <= 86_400 else { throw ValidationError("--duration must be between 0 and 86400 seconds (got \(duration)).") }
        guard (0...(16 << 20)).contains(valueSize) else { throw ValidationError("--value-size must be between 0 and 16777216 bytes (got \(valueSize)).") }
        guard (1...100_000_000).contains(keys) else { throw ValidationError("--keys must be between 1 and 100000000 (got \(keys)).") }
    }
}

/// `monsync bench put`.
struct BenchPutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Writes: each request sets a random key to a new value, committed through Paxos.",
        discussion: "Example:\n  monsync bench put --clients 16 --duration 10 --value-size 100 --mon tcp://127.0.0.1:7001")

    @OptionGroup var options: BenchOptions

    func run() async throws { try await BenchRunner(options: options, command: "put", readRatio: 0).run() }
}

/// `monsync bench get`.
struct BenchGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Reads: each request gets a random key (a key with no value counts as a miss, not an error).",
        discussion: """
        With the --seed, --keys and --clients of an earlier bench put, each client reads the keys that \
        client wrote, in the same order.

        Example:
          monsync bench get --clients 16 --duration 10 --mon tcp://127.0.0.1:7001
        """)

    @OptionGroup var options: BenchOptions

    func run() async throws { try await BenchRunner(options: options, command: "get", readRatio: 1).run() }
}

/// `monsync bench mixed`.
struct BenchMixedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixed", abstract: "Reads and writes: each request is a get with probability --read-ratio, else a put.",
        discussion: "Example:\n  monsync bench mixed --read-ratio 0.9 --rate 2000 --mon tcp://127.0.0.1:7001")

    @OptionGroup var options: BenchOptions

    @Option(help: "The fraction of requests that are gets (0 to 1).")
    var readRatio = 0.5

    func validate() throws {
        guard readRatio >= 0 && readRatio <= 1 else { throw ValidationError("--read-ratio must be between 0 and 1 (got \(readRatio)).") }
    }

    func run() async throws { try await BenchRunner(options: options, command: "mixed", readRatio: readRatio).run() }
}

/// Runs one benchmark: connects the clients, warms them up, drives the load, prints the summary.
struct BenchRunner {
    var options: BenchOptions
    var command: String
    var readRatio: Double

    private var timeout: Duration { options.client.timeout.seconds }

    var configuration: BenchConfiguration {
        BenchConfiguration(command: command, clients: options.clients, connections: options.connectionCount, rate: options.rate, durationSeconds: options.duration,
                           valueSize: options.valueSize, keys: options.keys, readRatio: readRatio, seed: options.seed,
                           timeoutSeconds: options.client.timeout)
    }

    func run() async throws {
        options.client.logLevel.bootstrap(format: options.client.logFormat)
        let logger = Logger(label: "monsync.bench")
        try await UserFacingError.reporting {
            let monmap = try options.client.cluster.resolve(allowAnonymous: true)
            let registry = try Transports.registry(logger: logger, cluster: options.client.cluster, monmap: monmap)
            let transportOptions = TransportOptions(sendTimeout: timeout)
            // The connections, made one after the other (each picks a free port), before the clock starts.
            var connections: [ClientConnection] = []
            do {
                for _ in 0..<options.connectionCount {
                    connections.append(try await ClientEndpoint.startClient(monmap: monmap, registry: registry, options: transportOptions, logger: logger,
                                                                            attemptTimeout: options.client.attemptTimeout.seconds))
                }
            } catch {
                await Self.close(connections)
                throw error
            }
            let outcome: Result<BenchSummary, any Error>
            do { outcome = .success(try await drive(connections, monmap: monmap)) } catch { outcome = .failure(error) }
            await Self.close(connections)
            let summary = try outcome.get()

            if options.client.json {
                print(try summary.json())
            } else {
                print(summary.text)
            }
            guard summary.ops > 0 else {
                let kinds = BenchErrorKind.allCases.compactMap { kind in
                    summary.errorsByKind[kind.rawValue].flatMap { $0 > 0 ? "\($0) \(kind.rawValue)" : nil }
                }
                throw UserFacingError.benchFailed(requests: summary.errors, detail: kinds.joined(separator: ", "),
                                                  seconds: summary.elapsedSeconds)
            }
        }
    }

    /// Warms the clients up, then runs the load for `--duration` and returns its summary.
    private func drive(_ connections: [ClientConnection], monmap: MonMap) async throws -> BenchSummary {
        let clock = ContinuousClock()
        let timeout = timeout

        // Warm-up: one get per client opens its connections to the monitors before the clock starts.
        // If not a single client got an answer, the cluster is unreachable: say so instead of measuring.
        let warmupStart = clock.now
        let failures = await withTaskGroup(of: MonitorClientError?.self) { group in
            for connection in connections {
                group.addTask {
                    do throws(MonitorClientError) {
                        _ = try await connection.client.get("bench-warmup", timeout: timeout)
                        return nil
                    } catch { return error }
                }
            }
            var failures: [MonitorClientError] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        if failures.count == connections.count, let first = failures.first {
            throw UserFacingError.from(first, monmap: monmap, timeout: timeout)
        }
        let ready = failures.isEmpty ? "" : " (\(failures.count) failed their warm-up request)"
        Self.log("bench \(command): \(BenchSummary.clients(options.clients, on: connections.count)) ready in \(BenchSummary.format(warmupStart.duration(to: clock.now).inSeconds, decimals: 2)) s\(ready); "
            + "running for \(BenchSummary.format(options.duration, decimals: options.duration < 10 ? 1 : 0)) s")

        let recorder = LockedState(BenchRecorder())
        let samples = options.latencyLog == nil ? nil : LockedState<[BenchSample]>([])
        let schedule = BenchSchedule(rate: options.rate, clients: options.clients)
        let duration = options.duration.seconds
        let start = clock.now
        let startUnix = Date().timeIntervalSince1970
        let end = start + duration
        // SIGINT and SIGTERM end the run early, as the end of --duration would.
        let stopped = LockedState<ContinuousClock.Instant?>(nil)
        let interrupts = Self.stoppingOnInterrupt { stopped.withLock { $0 = $0 ?? clock.now } }
        defer { for source in interrupts { source.cancel() } }

        // The progress line, every second until the clients are done.
        let progress = Task {
            var tick = 1
            var previous = (ops: 0, at: start)
            while true {
                do { try await clock.sleep(until: start + .seconds(tick)) } catch { return }
                let now = clock.now
                let (ops, errors) = recorder.withLock { ($0.ops, $0.errorCount) }
                let interval = previous.at.duration(to: now).inSeconds
                Self.log(BenchProgress(elapsed: start.duration(to: now), ops: ops, errors: errors,
                                       currentRate: interval > 0 ? Double(ops - previous.ops) / interval : 0).text)
                previous = (ops, now)
                tick += 1
            }
        }

        await withTaskGroup(of: Void.self) { group in
            for index in 0..<options.clients {
                let connection = connections[index % connections.count]
                var stream = BenchStream(seed: options.seed, client: index, keys: options.keys, valueSize: options.valueSize,
                                         readRatio: readRatio)
                group.addTask {
                    let client = connection.client
                    var op = 0
                    while !Task.isCancelled {
                        // When this request is due: on the schedule, or now when unpaced.
                        let due: ContinuousClock.Instant
                        if let offset = schedule.offset(client: index, op: op) {
                            guard offset < duration else { break }
                            due = start + offset
                            if clock.now < due {
                                do { try await clock.sleep(until: due) } catch { break }
                            }
                        } else {
                            due = clock.now
                        }
                        // A client behind its schedule sends nothing after the end.
                        guard clock.now < end, stopped.withLock({ $0 }) == nil else { break }
                        let (operation, key) = stream.next()
                        let sent = clock.now
                        let result: Result<Bool, MonitorClientError>
                        switch operation {
                        case .put:
                            let value = stream.nextValue()
                            do throws(MonitorClientError) {
                                try await client.put(key, value, timeout: timeout)
                                result = .success(false)
                            } catch { result = .failure(error) }
                        case .get:
                            do throws(MonitorClientError) {
                                result = .success(try await client.get(key, timeout: timeout) == nil)
                            } catch { result = .failure(error) }
                        }
                        let answered = clock.now
                        if let samples {
                            let outcome = switch result {
                            case let .success(miss): miss ? "miss" : "ok"
                            case let .failure(error): BenchErrorKind(error).rawValue
                            }
                            let sample = BenchSample(due: startUnix + start.duration(to: due).inSeconds, latency: due.duration(to: answered),
                                                     service: sent.duration(to: answered), operation: operation, outcome: outcome)
                            samples.withLock { $0.append(sample) }
                        }
                        recorder.withLock { recorder in
                            switch result {
                            case let .success(miss):
                                recorder.recordSuccess(operation, latency: due.duration(to: answered), service: sent.duration(to: answered), miss: miss)
                            case let .failure(error):
                                recorder.recordError(operation, BenchErrorKind(error))
                            }
                        }
                        op += 1
                    }
                }
            }
            await group.waitForAll()
        }
        let elapsed = start.duration(to: clock.now)
        progress.cancel()
        await progress.value
        if let samples, let path = options.latencyLog { try BenchSample.write(samples.withLock { $0 }, to: path) }
        var configuration = configuration
        if let stoppedAt = stopped.withLock({ $0 }) {
            // Interrupted: what was due is what the schedule held until then.
            configuration.durationSeconds = min(configuration.durationSeconds, start.duration(to: stoppedAt).inSeconds)
            Self.log("bench \(command): interrupted after \(BenchSummary.format(configuration.durationSeconds, decimals: 1)) s")
        }
        return recorder.withLock { $0.summary(configuration, elapsed: elapsed) }
    }

    /// Calls `stop` on SIGINT or SIGTERM (the sources are returned to be kept alive, and cancelled).
    private static func stoppingOnInterrupt(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            return source
        }
    }

    /// Shuts the clients down, all at once.
    private static func close(_ connections: [ClientConnection]) async {
        await withTaskGroup(of: Void.self) { group in
            for connection in connections { group.addTask { await connection.close() } }
        }
    }

    /// One line on standard error.
    private static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

extension BenchErrorKind {
    /// The kind of a client helper's failure.
    init(_ error: MonitorClientError) {
        switch error {
        case .timedOut(lastReply: nil), .outcomeUnknown(_, lastReply: nil): self = .timeout
        case .timedOut(lastReply: _?), .outcomeUnknown(_, lastReply: _?): self = .unavailable
        case .refused, .invalidRequest: self = .refused
        case .cancelled: self = .cancelled
        }
    }
}
