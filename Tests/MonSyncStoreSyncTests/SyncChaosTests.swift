import Foundation
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

/// Randomized fault tests of the streaming phase: every knob is drawn from the case's seed
/// (``testSeed(_:)``, so `MONSYNC_TEST_SEED` gives each run fresh configurations).
///
/// Clock: these run on the real clock (`ContinuousClock`, passed to the transports and the roles'
/// timebases) with short timeouts (`chunkTimeout` 300 ms), not on swift-clocks' `TestClock`: with random
/// delays, reorder holds and timeouts all racing, nudging a test clock would decide the interleaving
/// more than the seed does. Timing only changes how many provider switches a run needs, never the
/// expected result, which the assertions check exactly (digest at the outcome's version, or a typed
/// failure with the live store untouched).
@Suite("Store sync: randomized faults on the loopback network", .timeLimit(.minutes(2)))
struct SyncChaosTests {
    /// Which providers go silent towards the requester once it has some chunks.
    enum Silence: String, Sendable, CustomStringConvertible {
        /// None: the faults alone.
        case none
        /// The provider streaming at that moment; the others must finish the copy.
        case current
        /// Every provider: the sync cannot succeed and must fail cleanly.
        case all
        var description: String { rawValue }
    }

    /// One randomized configuration, all of it derived from `seed`.
    struct Scenario: CustomStringConvertible {
        var seed: UInt64
        var providers: Int
        var faults: LoopbackFaults
        var window: Int
        var chunkLimits: ChunkLimits
        var initialVersions: UInt64
        /// Versions committed to the providers while the sync runs, one every `writeEvery` chunks.
        var liveWrites: UInt64
        var writeEvery: UInt64
        var silence: Silence
        var silenceAfterChunks: UInt64
        var maxProviderSwitches: Int
        /// The order the requester tries the providers in (indices into the provider nodes).
        var order: [Int]

        init(case index: Int) {
            seed = testSeed(0x5EED_C4A0_0000 &+ UInt64(index))
            var rng = SeededRandomNumberGenerator(seed: seed)
            func uniform(_ range: ClosedRange<Double>) -> Double { Double.random(in: range, using: &rng) }
            func millis(_ range: ClosedRange<Int>) -> Duration { .milliseconds(Int.random(in: range, using: &rng)) }
            silence = [Silence.none, .current, .all][index % 3]
            providers = Int.random(in: 2...3, using: &rng)
            // Rates are bounded so the number of provider switches the faults cause (a lost or reordered
            // chunk ends a stream at once; a lost last chunk or acknowledgement costs a chunk timeout)
            // stays far below the switch budget.
            faults = LoopbackFaults(drop: uniform(0...0.01), duplicate: uniform(0...0.1), reorder: uniform(0...0.03),
                                    delay: uniform(0.02...0.1), delayRange: .milliseconds(1)...millis(1...5),
                                    reorderHold: millis(1...5))
            window = Int.random(in: 1...4, using: &rng)
            chunkLimits = ChunkLimits(maxBytes: Int.random(in: 1024...4096, using: &rng), maxKeys: Int.random(in: 8...32, using: &rng))
            initialVersions = UInt64.random(in: 60...120, using: &rng)
            liveWrites = UInt64.random(in: 10...30, using: &rng)
            writeEvery = UInt64.random(in: 1...3, using: &rng)
            silenceAfterChunks = UInt64.random(in: 3...20, using: &rng)
            // Silencing everyone ends in `tooManyProviderSwitches`: a small budget keeps that case short.
            maxProviderSwitches = silence == .all ? 8 : 40
            order = Array(0..<providers).shuffled(using: &rng)
        }

        var configuration: SyncConfiguration {
            var configuration = SyncConfiguration()
            configuration.window = window
            configuration.chunkLimits = chunkLimits
            configuration.chunkTimeout = .milliseconds(300)
            configuration.providerTimeout = .seconds(3)
            configuration.maxProviderSwitches = maxProviderSwitches
            return configuration
        }

        var description: String {
            "seed \(seed)\(seedNote): \(providers) providers (order \(order)), silence \(silence) after \(silenceAfterChunks) chunks, "
                + "drop \(faults.drop.formatted2) dup \(faults.duplicate.formatted2) reorder \(faults.reorder.formatted2) "
                + "delay \(faults.delay.formatted2) ≤\(faults.delayRange.upperBound), window \(window), "
                + "chunks ≤\(chunkLimits.maxBytes) B/\(chunkLimits.maxKeys) keys, versions \(initialVersions) "
                + "+\(liveWrites) (every \(writeEvery) chunks), switches ≤\(maxProviderSwitches)"
        }
    }

    @Test("a requester syncs from several providers through random faults, live writes and a silenced provider",
          arguments: 0..<6)
    func chaos(index: Int) async throws {
        let scenario = Scenario(case: index)
        let clock = ContinuousClock()
        let network = LoopbackNetwork(seed: scenario.seed)
        let configuration = scenario.configuration
        var started: [SyncNode] = []
        for rank in 0..<scenario.providers {
            started.append(try await SyncNode.start("p\(rank)", rank: Int32(rank), network: network, clock: clock,
                                                    configuration: configuration))
        }
        let providers = started
        let requester = try await SyncNode.start("r", rank: 9, network: network, clock: clock, configuration: configuration)
        let stores = providers.map(\.store)

        // The digest of the providers' data after each version, to check the copy against the version it claims.
        try commitVersions(1...scenario.initialVersions, to: stores)
        let digests = LockedState<[UInt64: StoreDigest]>([scenario.initialVersions: try providers[0].digest()])
        // Live data the copy must replace, or leave untouched if the sync fails.
        try requester.store.put("kv", "live", [4, 2])
        try requester.store.put("kv", "key-00001-0", [7])
        let liveDigest = try requester.digest()

        network.setFaults(scenario.faults)
        let done = LockedState(false)
        let sources = scenario.order.map { providers[$0].entity }
        let sync = Task {
            defer { done.withLock { $0 = true } }
            return try await requester.requester.synchronize(targets: ["kv", "paxos"], from: sources, dispatcher: requester.dispatcher)
        }

        // The cluster keeps committing while the copy streams: one version every `writeEvery` chunks.
        let writer = Task {
            var version = scenario.initialVersions
            while version < scenario.initialVersions + scenario.liveWrites, !done.withLock({ $0 }) {
                let due = (version - scenario.initialVersions + 1) * scenario.writeEvery
                if requester.requester.progress.chunks >= due {
                    version += 1
                    try commitVersions(version...version, to: stores)
                    let digest = try providers[0].digest()
                    digests.withLock { $0[version] = digest }
                }
                try await Task.sleep(for: .milliseconds(1))
            }
            return version
        }

        // Silence the chosen providers towards the requester once it has some chunks.
        var silenced: [String] = []
        var chunksWhenSilenced: UInt64?
        if scenario.silence != .none {
            while !done.withLock({ $0 }), requester.requester.progress.chunks < scenario.silenceAfterChunks {
                try await Task.sleep(for: .milliseconds(1))
            }
            if !done.withLock({ $0 }) {
                let current = requester.requester.progress.provider
                for node in providers where scenario.silence == .all || node.transport.localAddress.description == current {
                    network.setFaults(LoopbackFaults(drop: 1), from: node.transport.localAddress, to: requester.transport.localAddress)
                    silenced.append(node.entity.name)
                }
                chunksWhenSilenced = requester.requester.progress.chunks
            }
        }

        let result: Result<SyncOutcome, any Error>
        do { result = .success(try await sync.value) } catch { result = .failure(error) }
        let lastWritten = try await writer.value
        let progress = requester.requester.progress
        let context = "\(scenario); silenced \(silenced) at \(chunksWhenSilenced.map(String.init) ?? "-") chunks; "
            + "wrote up to \(lastWritten); network \(network.statistics); progress \(progress)"

        switch result {
        case let .success(outcome):
            #expect(scenario.silence != .all || silenced.isEmpty, "succeeded with every provider silent: \(context)")
            let expected = digests.withLock { $0[outcome.version] }
            #expect(expected != nil, "version \(outcome.version) was never committed: \(context)")
            #expect(try requester.digest() == expected, "copy differs from the providers at version \(outcome.version): \(context)")
            #expect(try PaxosLog(store: requester.store).lastCommitted() == outcome.version, "\(context)")
            #expect(try requester.store.get("kv", "live") == nil, "live data replaced by the copy: \(context)")
            #expect(try requester.store.syncMarker() == nil, "\(context)")
            #expect(outcome.progress.chunks > 10, "small chunk limits make many chunks: \(context)")
            if !silenced.isEmpty {
                #expect(outcome.progress.providerSwitches >= 1, "the silenced provider was replaced: \(context)")
            }
        case let .failure(error):
            // Only impossible configurations may fail, and only with a typed failure that left live data alone.
            #expect(scenario.silence == .all && !silenced.isEmpty, "sync failed: \(error): \(context)")
            guard case .tooManyProviderSwitches? = error as? SyncFailure else {
                Issue.record("expected SyncFailure.tooManyProviderSwitches, got \(error): \(context)")
                break
            }
            #expect(progress.providerSwitches == scenario.maxProviderSwitches + 1, "\(context)")
            #expect(try requester.digest() == liveDigest, "live data touched by a failed sync: \(context)")
            #expect(try requester.store.get("kv", "live") == [4, 2], "\(context)")
            #expect(try requester.store.syncMarker() == nil, "the staging area is abandoned: \(context)")
        }
        for node in providers + [requester] { await node.stop() }
    }
}

private extension Double {
    var formatted2: String { String(format: "%.3f", self) }
}
