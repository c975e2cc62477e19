import MonSyncCore
import MonSyncMessages
import MonSyncStore
@testable import MonSyncStoreSync
import Testing

/// A provider's byte-rate limit (`SyncConfiguration.providerByteRate`, `--sync-max-bytes-per-second`):
/// the copy still completes exactly, its chunks never exceed the rate over any second by more than
/// the budget's ceiling, and it takes as long as the rate says — on the deterministic bench, where
/// time moves only by deadlines, so without a limit the same copy takes no time at all.
@Suite("Store sync: the provider's byte-rate limit")
struct SyncRateLimitTests {
    static let rate = 20_000

    static func bench(rate: Int) throws -> SyncBench {
        var configuration = SyncBench.configuration(window: 8)
        configuration.providerByteRate = rate
        let bench = SyncBench(providers: 2, leader: 0, configuration: configuration)
        try commitVersions(1...200, to: bench.nodes.map(\.store))
        return bench
    }

    @Test("the copy is exact and paced: bytes over time stay at the rate")
    func paced() throws {
        let bench = try Self.bench(rate: Self.rate)
        var chunks: [(at: Duration, bytes: Int)] = []
        bench.onDeliver = { message, _, _ in
            if message.op == .chunk { chunks.append((bench.now, message.chunk.count)) }
        }
        guard case let .success(outcome)? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[1].store))
        let provider = bench.nodes[1].provider.statistics
        let total = chunks.map(\.bytes).reduce(0, +)
        #expect(total == provider.bytesSent && outcome.progress.chunks == chunks.count)
        #expect(provider.rateLimitPauses > 0)
        // The budget holds at most one chunk's worth (2 KiB here, above rate / 20), and a chunk
        // goes whenever the budget is positive (one chunk may overdraw it): the whole copy takes
        // at least (total - ceiling - one chunk) / rate, and not much more.
        let ceiling = max(bench.configuration.chunkLimits.maxBytes, Self.rate / 20)
        let seconds = Double(bench.now.components.seconds) + Double(bench.now.components.attoseconds) / 1e18
        let least = Double(total - ceiling - bench.configuration.chunkLimits.maxBytes) / Double(Self.rate)
        #expect(seconds >= least && seconds <= least * 1.1 + 1, "\(total) bytes in \(seconds) s at \(Self.rate) B/s")
        // Over every one-second window (starting at each chunk), at most a second's bytes and the ceiling.
        for (index, start) in chunks.enumerated() {
            let inWindow = chunks[index...].prefix { $0.at < start.at + .seconds(1) }.map(\.bytes).reduce(0, +)
            #expect(inWindow <= Self.rate + ceiling + bench.configuration.chunkLimits.maxBytes,
                    "\(inWindow) bytes in the second after \(start.at)")
        }
    }

    @Test("without a limit the same copy takes no time on the bench, and never pauses")
    func unlimited() throws {
        let bench = try Self.bench(rate: 0)
        guard case .success? = bench.run() else { Issue.record("\(String(describing: bench.result))"); return }
        #expect(bench.now == .zero)
        #expect(bench.nodes[1].provider.statistics.rateLimitPauses == 0)
        #expect(try bench.digest(bench.requesterStore) == bench.digest(bench.nodes[1].store))
    }
}
