// swift-tools-version: 6.1
//
// MonSync: Ceph-style monitor store synchronization over a plugin-based,
// transport-agnostic messaging framework.
//
// One module per concern; the folder list under Sources/ tells what each is.

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "MonSync",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MonSyncCore", targets: ["MonSyncCore"]),
        .library(name: "MonSyncMessages", targets: ["MonSyncMessages"]),
        .library(name: "MonSyncLoopback", targets: ["MonSyncLoopback"]),
        .library(name: "MonSyncStore", targets: ["MonSyncStore"]),
        .library(name: "MonSyncStoreSync", targets: ["MonSyncStoreSync"]),
        .library(name: "MonSyncMonitor", targets: ["MonSyncMonitor"]),
        .library(name: "MonSyncSimulation", targets: ["MonSyncSimulation"]),
        .library(name: "MonSyncTransportConformance", targets: ["MonSyncTransportConformance"]),
        .library(name: "MonSyncZeroMQ", targets: ["MonSyncZeroMQ"]),
        .library(name: "MonSyncHealth", targets: ["MonSyncHealth"]),
        .library(name: "MonSyncAdmin", targets: ["MonSyncAdmin"]),
        .executable(name: "monsync-zmq-peer", targets: ["monsync-zmq-peer"]),
        .executable(name: "monsync", targets: ["monsync"]),
        .executable(name: "monsync-simulate", targets: ["monsync-simulate"]),
        .executable(name: "MonSyncDecoderFuzzer", targets: ["MonSyncDecoderFuzzer"]),
        .executable(name: "monsync-store-crasher", targets: ["monsync-store-crasher"]),
    ],
    traits: [
        .trait(
            name: "ZeroMQ",
            description: "Builds the ZeroMQ transport (MonSyncZeroMQ); needs libzmq (Debian: libzmq3-dev, see Scripts/ensure-system-packages)."
        ),
        .default(enabledTraits: ["ZeroMQ"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/pointfreeco/swift-clocks.git", from: "1.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // Latency histograms of `monsync bench`.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // Child processes (the ZeroMQ demo's nodes, the process tests): Foundation 6.3's `Process.run()`
        // can crash on Linux (see Sources/MonSyncChildProcess).
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.0"),
        // `swift package generate-documentation` (Scripts/docs): a command plugin only, linked into no target.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.4.0"),
        // The admin endpoint of `monsync node` (`/metrics`, `/health`): a small HTTP/1.1 server on
        // plain SwiftNIO (no web framework: it builds in a fraction of Hummingbird's time), and the
        // Prometheus text exposition of the swift-metrics instruments.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        // `monsync`'s configuration file (JSON, and YAML through Yams) and MONSYNC_* environment variables.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        // The YAML configuration file's keys, checked before swift-configuration reads its values.
        .package(url: "https://github.com/jpsim/Yams.git", "5.4.0"..<"7.0.0"),
        // `FilePath`, which swift-configuration's file provider takes.
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
    ],
    targets: [
        // Hardware-accelerated CRC32C (SSE4.2 / ARMv8 CRC) with a portable fallback.
        .target(name: "CMonSyncCRC32C"),

        // The core: wire encoding, frames, the message registry, MMonSync, dispatch,
        // and the transport plugin API. Depends on no transport and no store.
        .target(
            name: "MonSyncCore",
            dependencies: [
                "CMonSyncCRC32C",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),

        // MonSync's wire vocabulary: MMonSync (with SyncKey, SyncAbortReason, MonitorEntity) and the
        // monitor's messages (probe, election, Paxos, commands, status), and the codec that knows
        // them all (`MessageCodec.monitor()`). Depends on the core only: a transport's tests and a
        // peer written in Swift need no store.
        .target(
            name: "MonSyncMessages",
            dependencies: ["MonSyncCore"],
            swiftSettings: strictSettings
        ),

        // The in-process loopback transport: a product, and the transport the
        // protocol tests run on (with seeded fault injection).
        .target(
            name: "MonSyncLoopback",
            dependencies: [
                "MonSyncCore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // libzmq, found through its header in /usr/include and linked as -lzmq.
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),

        // The ZeroMQ DEALER/ROUTER transport for tcp://, ipc:// and inproc:// addresses.
        // Its sources sit inside `#if ZeroMQ`, so without the trait it builds empty and
        // the package needs no libzmq.
        .target(
            name: "MonSyncZeroMQ",
            dependencies: [
                "MonSyncCore",
                .target(name: "CZeroMQ", condition: .when(traits: ["ZeroMQ"])),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // A MonSync node over ZeroMQ in its own process: the multi-process test runs three.
        .executableTarget(
            name: "monsync-zmq-peer",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // The transport conformance kit: one set of checks every transport runs, and a
        // codec verifier. Depends on the core only (no test framework), so any test
        // framework in any package can call it.
        .target(
            name: "MonSyncTransportConformance",
            dependencies: ["MonSyncCore", "MonSyncMessages"],
            swiftSettings: strictSettings
        ),

        // RocksDB's C API (Debian's librocksdb-dev; Scripts/ensure-system-packages installs it).
        .systemLibrary(name: "CRocksDB", path: "Sources/CRocksDB"),

        // The monitor store: the store API, its in-memory and RocksDB backends,
        // transactions, snapshots and chunks for sync, staging, and the digest.
        .target(
            name: "MonSyncStore",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "CRocksDB",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),

        // A child process for the crash tests: commits numbered transactions until killed.
        .executableTarget(
            name: "monsync-store-crasher",
            dependencies: ["MonSyncStore"],
            swiftSettings: strictSettings
        ),

        // The monitor: monmap, probe, election, Single-Paxos, trim, services and the client
        // command path, over whichever transport it is given.
        .target(
            name: "MonSyncMonitor",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncStore",
                "MonSyncStoreSync",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // The deterministic simulator: the real monitor machines on a simulated network and clock,
        // with faults, a client workload and checkers (linearizability, agreement, durability, liveness).
        .target(
            name: "MonSyncSimulation",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncStore",
                "MonSyncStoreSync",
                "MonSyncMonitor",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // `monsync-simulate`: runs the simulator over a range of seeds (Scripts/simulate).
        .executableTarget(
            name: "monsync-simulate",
            dependencies: [
                "MonSyncSimulation",
                "MonSyncMonitor",
                "MonSyncStoreSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        // The git commit `monsync --version` prints, when the build passes one (Scripts/build-release).
        .target(name: "CMonSyncBuildInfo"),

        // Cluster health in Ceph's vocabulary (HEALTH_OK/WARN/ERR, named checks): a pure evaluation
        // of what the monitors report, shared by `monsync health`, `status` and a node's `/health`.
        .target(
            name: "MonSyncHealth",
            dependencies: ["MonSyncCore", "MonSyncMessages"],
            swiftSettings: strictSettings
        ),

        // A node's admin endpoint: the HTTP server of `/metrics` and `/health`, and the Prometheus
        // back-end of the swift-metrics instruments with their catalogue (names, help, buckets).
        .target(
            name: "MonSyncAdmin",
            dependencies: [
                "MonSyncCore",
                "MonSyncHealth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // The `monsync` command.
        .executableTarget(
            name: "monsync",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                "MonSyncStore",
                "MonSyncMonitor",
                "MonSyncStoreSync",
                "MonSyncZeroMQ",
                "MonSyncHealth",
                "MonSyncAdmin",
                "MonSyncChildProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
                "CMonSyncBuildInfo",
            ],
            swiftSettings: strictSettings
        ),

        // libFuzzer entry point for the frame/message decoder (see README, "Fuzzing").
        .executableTarget(
            name: "MonSyncDecoderFuzzer",
            dependencies: ["MonSyncCore", "MonSyncMessages"],
            swiftSettings: strictSettings
        ),

        // What the test targets share (not a product): a loopback monitor cluster on a test clock, a
        // real-time `eventually`, free TCP ports, `offPool` for the simulator, the MONSYNC_TEST_SEED
        // override, and the build products directory with a finished child process's result.
        // A background child process to signal and wait for (swift-subprocess underneath).
        .target(
            name: "MonSyncChildProcess",
            dependencies: [
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MonSyncTestSupport",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                "MonSyncStore",
                "MonSyncStoreSync",
                "MonSyncMonitor",
                "MonSyncChildProcess",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "MonSyncSimulationTests",
            dependencies: ["MonSyncSimulation", "MonSyncMonitor", "MonSyncStore", "MonSyncCore", "MonSyncMessages", "MonSyncTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncCoreTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            exclude: ["GoldenVectors"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncLoopbackTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncTransportConformanceTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                "MonSyncTransportConformance",
                "MonSyncZeroMQ",
                "MonSyncTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncZeroMQTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncZeroMQ",
                "MonSyncTestSupport",
                .target(name: "CZeroMQ", condition: .when(traits: ["ZeroMQ"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncStoreTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncStore",
                "MonSyncChildProcess",
                "monsync-store-crasher",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            swiftSettings: strictSettings
        ),
        // The store sync's three roles as pure state machines (leader, provider, requester), with
        // their configuration, progress and failures. The monitor runs them; so does the simulator.
        .target(
            name: "MonSyncStoreSync",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncStore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncStoreSyncTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                "MonSyncStore",
                "MonSyncStoreSync",
                "MonSyncMonitor",
                "MonSyncTestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            swiftSettings: strictSettings
        ),
        // Runs the built `monsync` binary as real processes; depends on it so it is built first.
        // The ZeroMQ transport, the codec and libzmq itself let a test attack those processes
        // from inside the test process (DeadAddressTests).
        .testTarget(
            name: "MonSyncCommandTests",
            dependencies: [
                "monsync",
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncZeroMQ",
                "MonSyncTestSupport",
                .target(name: "CZeroMQ", condition: .when(traits: ["ZeroMQ"])),
            ],
            swiftSettings: strictSettings
        ),
        // The documentation's code: every Swift block of README.md and of the DocC catalogs is
        // compiled here, and a test fails when a block's text differs from its compiled copy.
        .testTarget(
            name: "MonSyncDocumentationTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                "MonSyncStore",
                "MonSyncStoreSync",
                "MonSyncMonitor",
                "MonSyncZeroMQ",
                "MonSyncTransportConformance",
                "MonSyncSimulation",
                "MonSyncTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncHealthTests",
            dependencies: ["MonSyncCore", "MonSyncMessages", "MonSyncHealth", "MonSyncAdmin",
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncMonitorTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncMessages",
                "MonSyncLoopback",
                "MonSyncStore",
                "MonSyncMonitor",
                "MonSyncTestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)

// The Unix-domain socket transport of Examples/CustomTransport (a package of its own) is
// also compiled here, from the same files, so this package's tests run the conformance
// kit against a third, socket-based transport. It is written against Glibc: Linux only.
#if os(Linux)
package.targets.append(
    .target(
        name: "MonSyncUnixSocketExample",
        dependencies: ["MonSyncCore"],
        path: "Examples/CustomTransport/Sources/UnixSocketTransport",
        swiftSettings: strictSettings
    )
)
for target in package.targets where target.name == "MonSyncTransportConformanceTests" {
    target.dependencies.append("MonSyncUnixSocketExample")
}
#endif
