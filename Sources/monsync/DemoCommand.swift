import ArgumentParser
import Logging

/// `monsync demo`: the main job — a three-node store sync on the embedded defaults.
///
/// Three monitors run in one process over the loopback transport. Monitors a
/// and b start with a loaded, trimmed store and form a quorum; c starts empty,
/// finds itself oblivious (its `last_committed` is below what the quorum still
/// retains), and copies the store from a provider while a client keeps writing.
/// It then rejoins through an election and Paxos recovery. The demo prints the
/// roles' steps, a progress bar, the throughput and the three stores' digests,
/// and exits 0 only if the digests match.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a three-node store sync in one process (loopback transport, embedded stores).",
        discussion: """
            Monitors a and b start with KEYS keys of VALUE-SIZE bytes and form a quorum; c starts \
            empty, syncs the whole store from them while a client writes WRITE-RATE keys per \
            second, and rejoins. Exits 0 only if all three stores end with the same digest.
            """
    )

    @Option(help: "Keys loaded on the quorum before c starts.")
    var keys: Int = 50_000

    @Option(help: "Bytes per value.")
    var valueSize: Int = 1024

    @Option(help: "Client writes per second while c syncs (0: none).")
    var writeRate: Int = 50

    @Option(help: "Chunks in flight during the sync (1 = Ceph's stop-and-wait).")
    var window: Int = 8

    @Option(help: "Largest chunk, in bytes (Ceph's mon_sync_max_payload_size).")
    var chunkSize: Int = 1 << 20

    @Option(help: "Store backend: memory, or rocksdb (in temporary directories, removed afterwards).")
    var store: DemoStoreKind = .memory

    @Option(help: "Transport: loopback (one process), or zmq (three monsync node processes over ZeroMQ on 127.0.0.1, RocksDB stores).")
    var transport: DemoTransport = .loopback

    @Option(help: "Seed for the data and every random choice.")
    var seed: UInt64 = 1

    @Option(help: "Give up after this many seconds.")
    var timeout: Int = 300

    @Flag(help: "Print the monitors' and roles' log lines.")
    var verbose = false

    func validate() throws {
        guard keys > 0 else { throw ValidationError("--keys must be at least 1.") }
        guard (1...(16 << 20)).contains(valueSize) else { throw ValidationError("--value-size must be between 1 and 16777216 bytes.") }
        guard writeRate >= 0 else { throw ValidationError("--write-rate cannot be negative.") }
        guard (1...1024).contains(window) else { throw ValidationError("--window must be between 1 and 1024.") }
        guard chunkSize >= 4096 else { throw ValidationError("--chunk-size must be at least 4096 bytes.") }
        guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second.") }
    }

    func run() async throws {
        let level: Logger.Level = verbose ? .info : .critical
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let demo = ThreeNodeSyncDemo(keys: keys, valueSize: valueSize, writeRate: writeRate, window: window,
                                     chunkSize: chunkSize, storeKind: store, seed: seed, timeout: .seconds(timeout))
        let succeeded: Bool
        switch transport {
        case .loopback:
            succeeded = try await demo.run()
        case .zmq:
            #if ZeroMQ
            succeeded = try await ZeroMQProcessDemo(base: demo).run()
            #else
            throw ValidationError("This monsync was built without the ZeroMQ trait: --transport zmq is not available.")
            #endif
        }
        if !succeeded { throw ExitCode.failure }
    }
}

enum DemoStoreKind: String, ExpressibleByArgument, CaseIterable {
    case memory, rocksdb
}

enum DemoTransport: String, ExpressibleByArgument, CaseIterable {
    case loopback, zmq
}
