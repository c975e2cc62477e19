import Foundation
import MonSyncChildProcess
import MonSyncCore
import MonSyncStore
import Testing

/// kill -9 a real process mid-write, reopen, and find exactly a whole number of committed transactions.
@Suite("Crash recovery", .serialized)
struct CrashTests {
    /// The crasher binary, built next to the test bundle.
    static func crasherURL() throws -> URL {
        let name = "monsync-store-crasher"
        var candidates: [URL] = []
        if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundle.appendingPathComponent(name)) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name))
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw CrasherMissing(searched: candidates.map(\.path))
        }
        return found
    }

    struct CrasherMissing: Error, CustomStringConvertible {
        var searched: [String]
        var description: String { "monsync-store-crasher not found (build it with `swift build`); looked in \(searched)" }
    }

    /// Checks the crasher's invariant: one whole version `v`, nothing of `v + 1`.
    static func verify(_ directory: String) throws -> UInt64 {
        let store = try RocksDBStore(path: directory)
        let log = PaxosLog(store: store)
        let version = try log.lastCommitted()
        guard version > 0 else { return 0 }
        let expected = withUnsafeBytes(of: version.littleEndian) { Array($0) }
        for slot in 0..<8 {
            let value = try #require(try store.get("crash", "slot-\(slot)"))
            #expect(Array(value.prefix(8)) == expected, "slot \(slot) is not from version \(version)")
            #expect(value.dropFirst(8).allSatisfy { $0 == UInt8(truncatingIfNeeded: version) })
        }
        let markers = try store.snapshot(of: ["crash"]).allEntries().map(\.0.key).filter { $0.hasPrefix("marker-") }
        #expect(markers == ["marker-\(version)"])
        #expect(try log.transaction(at: version) != nil)
        #expect(try log.transaction(at: version + 1) == nil)
        #expect(try log.firstCommitted() == 1)
        return version
    }

    /// Starts the crasher in `mode`, lets it run for a random while after it opened the store, and kills it with SIGKILL.
    static func runAndKill(_ crasher: URL, directory: String, mode: String, random: inout SeededRandomNumberGenerator) async throws {
        let output = directory + ".out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try await ChildProcess.start(crasher.path, arguments: [directory, mode], standardOutput: .file(output))
        // "ready": the store is open.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while (FileManager.default.contents(atPath: output) ?? Data()).isEmpty, process.isRunning, clock.now < deadline {
            try await clock.sleep(for: .milliseconds(5))
        }
        try await clock.sleep(for: .microseconds(20_000 + Int(random.next() % 300_000)))
        process.signal(SIGKILL)
        let termination = try await process.wait(timeout: .seconds(60))
        #expect(termination == .signaled(SIGKILL), "the crasher ended by itself (\(termination))")
    }

    @Test func killNineAtRandomMomentsLeavesWholeTransactions() async throws {
        let crasher = try Self.crasherURL()
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SeededRandomNumberGenerator(seed: 0x5eed_c4a5)
        var last: UInt64 = 0
        var progressed = 0
        for round in 0..<20 {
            try await Self.runAndKill(crasher, directory: directory, mode: "commits", random: &random)
            let version = try Self.verify(directory)
            #expect(version >= last, "round \(round): went back from \(last) to \(version)")
            if version > last { progressed += 1 }
            last = version
        }
        #expect(progressed >= 10, "the crasher barely committed anything")
        #expect(last > 20)
    }

    /// kill -9 during staging, ingestion and the swap: the live copy is always one whole
    /// round's, the one the floor (written in the swap's own write) names; a marker left
    /// behind means the swap did not happen, and abandoning it leaves the live copy intact.
    @Test func killNineDuringSyncNeverExposesAPartialCopy() async throws {
        let crasher = try Self.crasherURL()
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SeededRandomNumberGenerator(seed: 0xc0ff_ee00)
        var last: UInt64 = 0
        var markersSeen = 0
        for round in 0..<15 {
            try await Self.runAndKill(crasher, directory: directory, mode: "sync", random: &random)
            let store = try RocksDBStore(path: directory)
            if try store.syncMarker() != nil {
                markersSeen += 1
                try store.abandonStaging()
            }
            let floor = try store.lastCommittedFloor()
            #expect(floor >= last, "round \(round): floor went back from \(last) to \(floor)")
            last = floor
            let entries = try store.snapshot(of: ["sync"]).allEntries()
            if floor == 0 {
                #expect(entries.isEmpty)
                continue
            }
            #expect(entries.count == 300, // the crasher's SyncCrash.keys
                    "round \(round): \(entries.count) keys live")
            let expected = withUnsafeBytes(of: floor.littleEndian) { Array($0) }
            #expect(entries.allSatisfy { Array($0.1.prefix(8)) == expected }, "round \(round): live copy mixes rounds")
            #expect(try store.syncMarker() == nil)
        }
        #expect(last >= 5, "the crasher barely synced")
        #expect(markersSeen >= 3, "no kill landed mid-sync")
    }
}
