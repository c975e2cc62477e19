// swift-tools-version: 6.1
//
// MonSync benchmarks, kept in a nested package so benchmark dependencies stay
// out of the main build. Run from this directory:
//
//   swift package --allow-writing-to-package-directory benchmark --target StoreBulkLoad
//   swift run -c release store-bulk-load          # the same workload, printed as a table
//   swift package --allow-writing-to-package-directory benchmark --target TransportThroughput
//   swift run -c release transport-throughput     # bare libzmq vs our transports, as a table
//   swift run -c release sync-throughput          # the sync's streaming phase, as a table
//   swift build -c release --package-path .. --product monsync && swift run -c release sync-cluster
//                                                  # the sync across three monsync processes (ZeroMQ, RocksDB)
//
// See BENCHMARKS.md, "Store bulk load", "Transport throughput", "Store sync" and
// "Store sync across processes (ZeroMQ, RocksDB)".

import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which depends on where
// the repository was cloned: compute it instead of hard-coding it.
let parentIdentity = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "MonSyncBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.29.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The bulk-load workload, shared by the benchmark and the plain executable.
        .target(
            name: "BulkLoadWorkload",
            dependencies: [
                .product(name: "MonSyncStore", package: parentIdentity),
                .product(name: "MonSyncCore", package: parentIdentity),
                .product(name: "MonSyncMessages", package: parentIdentity),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "store-bulk-load",
            dependencies: ["BulkLoadWorkload"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "StoreBulkLoad",
            dependencies: [
                "BulkLoadWorkload",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StoreBulkLoad",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),

        // The bare libzmq DEALER -> ROUTER baseline, in C. The parent's `CZeroMQ` is a system
        // library target that no product exports, so it cannot be named from here; a C target
        // that links libzmq itself keeps the baseline free of any Swift layer.
        .target(
            name: "CZMQBaseline",
            linkerSettings: [.linkedLibrary("zmq")]
        ),
        // The transport-throughput workload, shared by the benchmark and the plain executable.
        .target(
            name: "TransportThroughputWorkload",
            dependencies: [
                "CZMQBaseline",
                .product(name: "MonSyncCore", package: parentIdentity),
                .product(name: "MonSyncMessages", package: parentIdentity),
                .product(name: "MonSyncLoopback", package: parentIdentity),
                .product(name: "MonSyncZeroMQ", package: parentIdentity),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "transport-throughput",
            dependencies: ["TransportThroughputWorkload"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "TransportThroughput",
            dependencies: [
                "TransportThroughputWorkload",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TransportThroughput",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),

        // The store sync's streaming phase in one process: provider → requester over the loopback
        // transport, into an in-memory or RocksDB store (BENCHMARKS.md, "Store sync").
        .executableTarget(
            name: "sync-throughput",
            dependencies: [
                .product(name: "MonSyncCore", package: parentIdentity),
                .product(name: "MonSyncMessages", package: parentIdentity),
                .product(name: "MonSyncLoopback", package: parentIdentity),
                .product(name: "MonSyncStore", package: parentIdentity),
                .product(name: "MonSyncStoreSync", package: parentIdentity),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // The store sync across processes: three `monsync node` processes over ZeroMQ tcp on 127.0.0.1
        // with RocksDB stores (BENCHMARKS.md, "Store sync across processes (ZeroMQ, RocksDB)").
        .target(
            name: "CRocksDBCompact",
            linkerSettings: [.linkedLibrary("rocksdb")]
        ),
        .executableTarget(
            name: "sync-cluster",
            dependencies: [
                "CRocksDBCompact",
                .product(name: "MonSyncCore", package: parentIdentity),
                .product(name: "MonSyncMessages", package: parentIdentity),
                .product(name: "MonSyncStore", package: parentIdentity),
                .product(name: "MonSyncStoreSync", package: parentIdentity),
                .product(name: "MonSyncMonitor", package: parentIdentity),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
