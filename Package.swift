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
        .library(name: "MonSyncLoopback", targets: ["MonSyncLoopback"]),
        .library(name: "MonSyncStore", targets: ["MonSyncStore"]),
        .library(name: "MonSyncMonitor", targets: ["MonSyncMonitor"]),
        .executable(name: "monsync", targets: ["monsync"]),
        .executable(name: "MonSyncDecoderFuzzer", targets: ["MonSyncDecoderFuzzer"]),
        .executable(name: "monsync-store-crasher", targets: ["monsync-store-crasher"]),
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

        // RocksDB's C API (Debian's librocksdb-dev; Scripts/ensure-system-packages installs it).
        .systemLibrary(name: "CRocksDB", path: "Sources/CRocksDB"),

        // The monitor store: the store API, its in-memory and RocksDB backends,
        // transactions, snapshots and chunks for sync, staging, and the digest.
        .target(
            name: "MonSyncStore",
            dependencies: [
                "MonSyncCore",
                "CRocksDB",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),

        // The monitor: monmap, probe, election, Single-Paxos, trim, services and the client
        // command path, over whichever transport it is given.
        .target(
            name: "MonSyncMonitor",
            dependencies: [
                "MonSyncCore",
                "MonSyncStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // A child process for the crash tests: commits numbered transactions until killed.
        .executableTarget(
            name: "monsync-store-crasher",
            dependencies: ["MonSyncStore"],
            swiftSettings: strictSettings
        ),

        // The `monsync` command.
        .executableTarget(
            name: "monsync",
            dependencies: [
                "MonSyncCore",
                "MonSyncLoopback",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // libFuzzer entry point for the frame/message decoder (see README, "Fuzzing").
        .executableTarget(
            name: "MonSyncDecoderFuzzer",
            dependencies: ["MonSyncCore"],
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "MonSyncCoreTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncLoopback",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            exclude: ["GoldenVectors"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncStoreTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncStore",
                "monsync-store-crasher",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncMonitorTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncLoopback",
                "MonSyncStore",
                "MonSyncMonitor",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonSyncLoopbackTests",
            dependencies: [
                "MonSyncCore",
                "MonSyncLoopback",
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
