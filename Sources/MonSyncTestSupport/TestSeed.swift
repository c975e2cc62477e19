import Foundation
import MonSyncCore

/// The value of `MONSYNC_TEST_SEED` (a `UInt64`), or `nil` when it is unset or empty.
///
/// Every seed the store-sync tests use (loopback networks, role seeds) goes through ``testSeed(_:)``:
/// unset, each test runs with its fixed seed exactly as always; set, the override is mixed into every
/// fixed seed, so `Scripts/seed-campaign` can run the same suites under many different fault sequences
/// and a failing run is replayed with `MONSYNC_TEST_SEED=<n> swift test --skip-build --filter …`.
public let testSeedOverride: UInt64? = {
    guard let text = ProcessInfo.processInfo.environment["MONSYNC_TEST_SEED"]?.trimmingCharacters(in: .whitespaces),
          !text.isEmpty else { return nil }
    guard let value = UInt64(text) else {
        fatalError("MONSYNC_TEST_SEED must be an unsigned 64-bit integer, got '\(text)'")
    }
    // Once per process, so the log of a failing run names the seed to replay.
    FileHandle.standardError.write(Data("[monsync] MONSYNC_TEST_SEED=\(value): mixed into every store-sync test seed\n".utf8))
    return value
}()

/// `fixed` when `MONSYNC_TEST_SEED` is unset; otherwise a SplitMix64 mix of `fixed` and the override
/// (distinct fixed seeds stay distinct for one override, and each override gives a fresh sequence).
public func testSeed(_ fixed: UInt64) -> UInt64 {
    guard let override = testSeedOverride else { return fixed }
    var first = SeededRandomNumberGenerator(seed: fixed)
    var mixed = SeededRandomNumberGenerator(seed: first.next() ^ override)
    return mixed.next()
}

/// Names the seed in failure messages: empty when the override is unset (the fixed seeds are in the source).
public var seedNote: String {
    testSeedOverride.map { " [MONSYNC_TEST_SEED=\($0)]" } ?? ""
}
