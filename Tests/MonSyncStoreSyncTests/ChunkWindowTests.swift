import MonSyncCore
import MonSyncMessages
import MonSyncStore
@testable import MonSyncStoreSync
import Testing

/// The requester's adaptive window (``ChunkWindow``), the provider honouring the window each
/// CHUNK_REPLY announces, and both machines together over a modelled link.
@Suite("Store sync: the adaptive chunk window")
struct ChunkWindowTests {
    // MARK: The rule alone

    /// Acknowledges `from`, then receives the chunk the round marked `roundTrip` later; returns the
    /// window announced.
    static func round(_ window: inout ChunkWindow, acking sequence: UInt64, at now: Duration, roundTrip: Duration) -> Int {
        let announced = window.acknowledging(sequence, now: now)
        window.received(sequence + UInt64(announced), now: now + roundTrip)
        return announced
    }

    @Test("round trips that do not grow: the window doubles to its ceiling every other round, and stays there")
    func growsWhileNothingQueues() {
        var window = ChunkWindow(initial: 8, ceiling: 64)
        var sizes: [Int] = []
        var now = Duration.zero
        for round in 0..<6 {
            _ = Self.round(&window, acking: UInt64(round * 100), at: now, roundTrip: .milliseconds(50))
            now += .milliseconds(50)
            sizes.append(window.size)
        }
        #expect(sizes == [16, 16, 32, 32, 64, 64], "doubles every other round (the round after a change only measures)")
        #expect(window.baseRoundTrip == .milliseconds(50) && window.slowStart)
    }

    @Test("round trips that grow with the window (a queue): it leaves slow start and shrinks, never below its initial size")
    func shrinksWhenChunksQueue() {
        var window = ChunkWindow(initial: 8, ceiling: 64)
        var now = Duration.zero
        // A bottleneck that drains one chunk every 5 ms behind a 50 ms path: the round trip is
        // max(50 ms, size × 5 ms), so the path holds 10 chunks.
        var sizes: [Int] = []
        for round in 0..<40 {
            let roundTrip = max(Duration.milliseconds(50), .milliseconds(5) * window.size)
            _ = Self.round(&window, acking: UInt64(round * 100), at: now, roundTrip: roundTrip)
            now += roundTrip
            sizes.append(window.size)
        }
        #expect(!window.slowStart)
        #expect(sizes.prefix(3) == [16, 16, 15], "doubled into a queue of 6 chunks, then backed off")
        let settled = sizes.suffix(20)
        #expect(settled.allSatisfy { (10...13).contains($0) }, "settles at the path's 10 chunks plus 1–3 queued: \(sizes)")
    }

    @Test("a requester that applies slower than the provider sends: the window stays near its initial size")
    func aSlowReceiverKeepsItSmall() {
        var window = ChunkWindow(initial: 8, ceiling: 64)
        var now = Duration.zero
        // Chunks wait in the requester's inbox: each round trip is the size of the window times
        // the 2 ms a chunk takes to apply.
        var largest = 0
        for round in 0..<50 {
            let roundTrip = Duration.milliseconds(2) * window.size
            _ = Self.round(&window, acking: UInt64(round * 100), at: now, roundTrip: roundTrip)
            now += roundTrip
            largest = max(largest, window.size)
        }
        #expect(largest == 16, "one doubling, found to queue 8")
        #expect((8...11).contains(window.size), "back to within 3 chunks of the initial 8: \(window.size)")
    }

    @Test("ceiling equal to the initial size: a fixed window, nothing measured")
    func fixedWindow() {
        var window = ChunkWindow(initial: 8, ceiling: 8)
        #expect(!window.isAdaptive)
        for round in 0..<5 {
            #expect(Self.round(&window, acking: UInt64(round * 10), at: .seconds(round), roundTrip: .milliseconds(1)) == 8)
        }
        #expect(window.size == 8 && window.baseRoundTrip == nil)
        #expect(ChunkWindow(initial: 0, ceiling: -3).size == 1, "at least 1, as the provider clamps")
    }

    @Test("chunks before the marked one do not close the round")
    func onlyTheMarkedChunkCloses() {
        var window = ChunkWindow(initial: 4, ceiling: 16)
        #expect(window.acknowledging(10, now: .zero) == 4)
        for sequence in 11...13 { window.received(UInt64(sequence), now: .milliseconds(sequence)) }
        #expect(window.baseRoundTrip == nil && window.size == 4)
        // Another acknowledgement while a round is measured does not move the mark.
        #expect(window.acknowledging(13, now: .milliseconds(13)) == 4)
        window.received(14, now: .milliseconds(40))
        #expect(window.baseRoundTrip == .milliseconds(40) && window.size == 8)
    }

    // MARK: The provider

    static let requester: TransportAddress = "loopback://r"

    static func provider(maxWindow: Int = 64) throws -> (SyncProviderMachine, [SyncSend]) {
        let store = InMemoryStore()
        try commitVersions(1...300, to: [store])
        var configuration = SyncBench.configuration()
        configuration.maxWindow = maxWindow
        var provider = SyncProviderMachine(store: store, configuration: configuration, logger: quietLogger)
        let sends = provider.handleStartChunks(MMonSync(op: .startChunks, session: 5, sequence: 1, window: 4),
                                               from: requester, isMember: true, canServe: true,
                                               targets: ["kv", "paxos"], now: .zero)
        return (provider, sends)
    }

    /// Regression: a provider kept START_CHUNKS's window for the whole stream; a window the
    /// requester announced later (CHUNK_REPLY `window`) changed nothing.
    @Test("a provider keeps as many chunks in flight as the last CHUNK_REPLY asks, clamped to its maximum")
    func providerFollowsTheAnnouncedWindow() throws {
        var (provider, sends) = try Self.provider(maxWindow: 32)
        #expect(sends.map(\.message.sequence) == [1, 2, 3, 4], "START_CHUNKS asked for 4")
        sends = provider.handleChunkReply(MMonSync(op: .chunkReply, session: 5, sequence: 1, window: 12),
                                          from: Self.requester, now: .milliseconds(1))
        #expect(sends.map(\.message.sequence) == Array(5...13), "chunks 2…13 in flight: 12")
        sends = provider.handleChunkReply(MMonSync(op: .chunkReply, session: 5, sequence: 2, window: 0),
                                          from: Self.requester, now: .milliseconds(2))
        #expect(sends.map(\.message.sequence) == [14], "window 0 (a requester that does not adapt): unchanged")
        sends = provider.handleChunkReply(MMonSync(op: .chunkReply, session: 5, sequence: 8, window: 4),
                                          from: Self.requester, now: .milliseconds(3))
        #expect(sends.isEmpty, "shrunk to 4 with 6 in flight: nothing more until they drain")
        sends = provider.handleChunkReply(MMonSync(op: .chunkReply, session: 5, sequence: 11, window: 1_000_000),
                                          from: Self.requester, now: .milliseconds(4))
        #expect(sends.map(\.message.sequence) == Array(15...43), "clamped to the provider's 32: chunks 12…43")
    }

    // MARK: Both machines over a link

    /// A provider and a requester over a link of `rate` bytes a second with `roundTrip`, the
    /// requester applying `applyRate` bytes a second: event-driven, no clock, every run the same.
    struct Link {
        var rate: Double
        var roundTrip: Duration
        var applyRate: Double = 1e12

        struct Result {
            var outcome: SyncOutcome
            var seconds: Double
            var bytes: Int
            var announced: [Int]
            var linkShare: Double
        }

        func run(configuration: SyncConfiguration, versions: ClosedRange<UInt64> = 1...2000) throws -> Result {
            let source = InMemoryStore()
            try commitVersions(versions, to: [source], valueSize: 1024)
            let target = InMemoryStore()
            let providerAddress: TransportAddress = "loopback://p"
            let providerEntity = MonitorEntity(rank: 0, name: "p", address: "loopback://p")
            var provider = SyncProviderMachine(store: source, configuration: configuration, logger: quietLogger)
            var requester = SyncRequesterMachine(configuration: configuration, targets: ["kv", "paxos"], leader: nil,
                                                 candidates: [providerEntity], members: [providerEntity],
                                                 session: 9, floor: 0, logger: quietLogger)
            let oneWay = roundTrip / 2
            // (time, order, message, to the requester?)
            var events: [(at: Duration, order: Int, message: MMonSync, toRequester: Bool)] = []
            var order = 0
            var linkFree = Duration.zero
            var requesterFree = Duration.zero
            var firstChunkSent: Duration?
            var bytes = 0
            var announced: [Int] = []
            var outcome: SyncOutcome?
            var finishedAt = Duration.zero

            func toRequester(_ sends: [SyncSend], at now: Duration) {
                for send in sends {
                    let size = Double(send.message.chunk.count + 100)
                    let departs = max(now, linkFree)
                    linkFree = departs + .nanoseconds(Int64(size / rate * 1e9))
                    if send.message.op == .chunk { firstChunkSent = firstChunkSent ?? departs }
                    order += 1
                    events.append((linkFree + oneWay, order, send.message, true))
                }
            }
            func requesterStep(_ input: SyncRequesterInput, at now: Duration) throws {
                var cost = Duration.zero
                for action in requester.step(input, now: now) {
                    switch action {
                    case let .send(message, _):
                        if message.op == .chunkReply { announced.append(Int(message.window)) }
                        order += 1
                        events.append((now + cost + oneWay, order, message, false))
                    case let .stage(chunk):
                        bytes += chunk.bytes.count
                        cost += .nanoseconds(Int64(Double(chunk.bytes.count) / applyRate * 1e9))
                        _ = try action.perform(on: target)
                    case .beginStaging, .commitStaging, .abandonStaging:
                        _ = try action.perform(on: target)
                    case let .finished(result):
                        outcome = try result.get()
                        finishedAt = now + cost
                    case .arm, .cancel:
                        break
                    }
                }
                requesterFree = now + cost
            }

            try requesterStep(.begin, at: .zero)
            var steps = 0
            while outcome == nil, let next = events.indices.min(by: { (events[$0].at, events[$0].order) < (events[$1].at, events[$1].order) }) {
                steps += 1
                guard steps < 1_000_000 else { break }
                let event = events.remove(at: next)
                if event.toRequester {
                    try requesterStep(.message(event.message, from: providerAddress), at: max(event.at, requesterFree))
                } else if event.message.op == .startChunks {
                    toRequester(provider.handleStartChunks(event.message, from: "loopback://r", isMember: true, canServe: true,
                                                           targets: ["kv", "paxos"], now: event.at), at: event.at)
                } else if event.message.op == .chunkReply {
                    toRequester(provider.handleChunkReply(event.message, from: "loopback://r", now: event.at), at: event.at)
                }
            }
            let done = try #require(outcome)
            #expect(try target.digest(of: ["kv"]) == source.digest(of: ["kv"]))
            let seconds = (finishedAt - (firstChunkSent ?? .zero)) / .seconds(1)
            return Result(outcome: done, seconds: seconds, bytes: bytes, announced: announced,
                          linkShare: Double(bytes) / seconds / rate)
        }
    }

    static func configuration(window: Int, maxWindow: Int) -> SyncConfiguration {
        var configuration = SyncConfiguration()
        configuration.chunkLimits = ChunkLimits(maxBytes: 16 << 10, maxKeys: 1024)
        configuration.window = window
        configuration.maxWindow = maxWindow
        configuration.progressLogInterval = .zero
        return configuration
    }

    /// Regression (issue 15): a fixed window of 8 filled 63 % of a 210 MB/s link at 50 ms. Here a
    /// link whose bandwidth-delay product is 24 chunks: 8 fill a third of it.
    @Test("a long fat link: the adaptive window fills it, where a fixed 8 fills a third")
    func fillsALongFatLink() throws {
        let link = Link(rate: 24 * 16_500 / 0.020, roundTrip: .milliseconds(20))
        let fixed = try link.run(configuration: Self.configuration(window: 8, maxWindow: 8))
        let adaptive = try link.run(configuration: Self.configuration(window: 8, maxWindow: 64))
        #expect(fixed.announced.allSatisfy { $0 == 8 })
        #expect(fixed.linkShare < 0.4, "fixed 8: \(fixed.linkShare)")
        #expect(adaptive.linkShare > 0.85, "adaptive: \(adaptive.linkShare)")
        #expect(adaptive.announced.max() ?? 0 > 24, "grew past the path's 24 chunks")
        #expect(adaptive.announced.allSatisfy { (8...64).contains($0) })
        #expect(adaptive.outcome.progress.chunks == fixed.outcome.progress.chunks)
    }

    @Test("a short link to a slow requester: the window stays near 8, so memory stays bounded")
    func staysSmallForASlowRequester() throws {
        let link = Link(rate: 1e9, roundTrip: .microseconds(100), applyRate: 20e6)
        let adaptive = try link.run(configuration: Self.configuration(window: 8, maxWindow: 64))
        #expect(adaptive.announced.max() ?? 0 <= 16, "at most one doubling: \(adaptive.announced.max() ?? 0)")
        let settled = adaptive.announced.suffix(adaptive.announced.count / 2)
        #expect(settled.allSatisfy { $0 <= 12 }, "back within 4 of the initial window")
        #expect(adaptive.linkShare < 0.05, "the requester, not the link, is the bottleneck")
    }
}
