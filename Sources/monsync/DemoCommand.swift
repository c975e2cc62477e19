import ArgumentParser
import Logging
import MonSyncCore
import MonSyncLoopback

/// `monsync demo`: three nodes exchange the MMonSync conversation over the loopback transport.
///
/// Until the store and the sync roles land, the demo drives the message flow of
/// a sync by hand: START through the leader, START_CHUNKS to the provider, a
/// window of CHUNKs with cumulative CHUNK_REPLYs, and FINISH. Every message is
/// encoded, crosses the transport as bytes, and is decoded and routed by the
/// dispatcher, exactly as the real roles will use them.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run three nodes in one process and stream chunks between them over the loopback transport."
    )

    @Option(help: "Number of chunks the provider streams.")
    var chunks: Int = 256

    @Option(help: "Bytes per chunk.")
    var chunkSize: Int = 64 * 1024

    @Option(help: "Chunks in flight before the provider waits for an acknowledgement (1 = Ceph's stop-and-wait).")
    var window: Int = 8

    @Option(help: "Seed for the chunk contents.")
    var seed: UInt64 = 1

    @Flag(help: "Log every message.")
    var verbose = false

    func validate() throws {
        guard chunks > 0 else { throw ValidationError("--chunks must be at least 1.") }
        guard (1...(64 << 20)).contains(chunkSize) else { throw ValidationError("--chunk-size must be between 1 and 67108864 bytes.") }
        guard window > 0 else { throw ValidationError("--window must be at least 1.") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
        let report = try await DemoRun(chunks: chunks, chunkSize: chunkSize, window: window, seed: seed).run()
        print(report.summary)
        if !report.succeeded { throw ExitCode.failure }
    }
}
