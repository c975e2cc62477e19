import Foundation
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

    @Test func killNineAtRandomMomentsLeavesWholeTransactions() throws {
        let crasher = try Self.crasherURL()
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SeededRandomNumberGenerator(seed: 0x5eed_c4a5)
        var last: UInt64 = 0
        var progressed = 0
        for round in 0..<20 {
            let process = Process()
            process.executableURL = crasher
            process.arguments = [directory]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            // Wait until it has opened the store, then let it commit for a random while.
            _ = output.fileHandleForReading.availableData
            let delay = 20_000 + Int(random.next() % 300_000)
            usleep(UInt32(delay))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round): the crasher exited by itself")
            let version = try Self.verify(directory)
            #expect(version >= last, "round \(round): went back from \(last) to \(version)")
            if version > last { progressed += 1 }
            last = version
        }
        #expect(progressed >= 10, "the crasher barely committed anything")
        #expect(last > 20)
    }
}
