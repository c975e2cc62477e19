// swift-tools-version: 6.1
//
// A third-party MonSync transport over Unix-domain stream sockets, in a package of its own:
// how anyone outside the MonSync repository writes, tests and ships a transport.

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "CustomTransport",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "UnixSocketTransport", targets: ["UnixSocketTransport"]),
        .executable(name: "unix-transport-demo", targets: ["UnixTransportDemo"]),
    ],
    dependencies: [
        // In your own package: .package(url: "https://…/monsync.git", from: "…")
        .package(name: "MonSync", path: "../.."),
    ],
    targets: [
        // The transport: MonSyncCore's plugin API and plain POSIX calls (Linux, Glibc).
        .target(
            name: "UnixSocketTransport",
            dependencies: [.product(name: "MonSyncCore", package: "MonSync")],
            swiftSettings: strictSettings
        ),
        // Picks a transport from a URL on the command line through a TransportRegistry.
        .executableTarget(
            name: "UnixTransportDemo",
            dependencies: [
                "UnixSocketTransport",
                .product(name: "MonSyncCore", package: "MonSync"),
                .product(name: "MonSyncMessages", package: "MonSync"),
            ],
            swiftSettings: strictSettings
        ),
        // The conformance kit, run from Swift Testing.
        .testTarget(
            name: "UnixSocketTransportTests",
            dependencies: [
                "UnixSocketTransport",
                .product(name: "MonSyncCore", package: "MonSync"),
                .product(name: "MonSyncMessages", package: "MonSync"),
                .product(name: "MonSyncTransportConformance", package: "MonSync"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
