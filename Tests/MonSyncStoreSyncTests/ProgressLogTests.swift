import Clocks
import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncStore
import MonSyncStoreSync
import Testing

/// A log sink that keeps every record, for assertions on what a role logs.
struct RecordingLogHandler: LogHandler {
    let records: LockedState<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        records.withLock { $0.append((event.level, event.message.description, merged)) }
    }
}

@Suite("Store sync: the requester's progress log", .timeLimit(.minutes(1)))
struct ProgressLogTests {
    /// Streams from a provider that accepted nothing and stays silent, on the test clock; returns the
    /// progress records logged while the clock advanced by `advance` (then the chunk timeout ends the sync).
    func progressLines(interval: Duration, advance total: Duration) async throws -> [(level: Logger.Level, message: String, metadata: Logger.Metadata)] {
        let network = LoopbackNetwork(seed: 5)
        let clock = TestClock()
        // A provider that never answers: a transport with nobody dispatching its messages.
        let silent = LoopbackTransport(address: "loopback://silent", network: network, options: TransportOptions(clock: clock))
        try await silent.start()
        let transport = LoopbackTransport(address: "loopback://r", network: network, options: TransportOptions(clock: clock))
        try await transport.start()
        let records = LockedState<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
        let logger = Logger(label: "test.progress") { _ in RecordingLogHandler(records: records) }
        var configuration = SyncConfiguration()
        configuration.progressLogInterval = interval
        configuration.chunkTimeout = .seconds(20)
        configuration.maxProviderSwitches = 0
        let requester = SyncRequester(store: InMemoryStore(), configuration: configuration, timebase: Timebase(clock), seed: 3,
                                      logger: logger)
        let dispatcher = Dispatcher(transport: transport, router: MessageRouter(), logger: logger)
        let running = Task { await dispatcher.run() }
        let sync = Task {
            try await requester.synchronize(targets: ["kv"], from: [MonitorEntity(rank: 0, name: "silent", address: "loopback://silent")],
                                            dispatcher: dispatcher)
        }
        await eventually("the requester streams") { requester.progress.phase == .streaming }
        await settle()
        var elapsed = Duration.zero
        while elapsed < total {
            await clock.advance(by: .milliseconds(250))
            elapsed += .milliseconds(250)
            await settle()
        }
        #expect(requester.progress.elapsed >= total, "while streaming, the progress's elapsed time is live: \(requester.progress)")
        let lines = records.withLock { $0 }.filter { $0.message == "sync progress" }
        // The silent provider's chunk timeout ends the sync (no other provider to switch to).
        let finished = LockedState(false)
        let waiter = Task {
            _ = await sync.result
            finished.withLock { $0 = true }
        }
        await advance(clock, by: .seconds(20) - total, until: "the sync gave up") { finished.withLock { $0 } }
        await waiter.value
        await transport.shutdown()
        await silent.shutdown()
        await running.value
        return lines
    }

    @Test("while streaming, the requester logs its progress at info level every interval of the injected clock")
    func periodicLines() async throws {
        let lines = try await progressLines(interval: .seconds(5), advance: .seconds(12))
        #expect(lines.count == 2, "one line at 5 s and one at 10 s: \(lines.map(\.message))")
        #expect(lines.allSatisfy { $0.level == .info })
        let text = lines.last.map { "\($0.metadata["progress"] ?? "")" } ?? ""
        #expect(text.hasPrefix("streaming session ") && text.contains("from loopback://silent: 0 chunks, 0 keys, 0 bytes in 10."),
                "the line says where the sync stands: \(text)")
    }

    @Test("an interval of zero logs no progress lines (only the end)")
    func disabled() async throws {
        let lines = try await progressLines(interval: .zero, advance: .seconds(12))
        #expect(lines.isEmpty)
    }
}
