import Foundation
import MonSyncCore
import MonSyncLoopback

/// The three-node message exchange behind `monsync demo`.
struct DemoRun {
    let chunks: Int
    let chunkSize: Int
    let window: Int
    let seed: UInt64

    struct Report {
        var succeeded: Bool
        var summary: String
    }

    /// What the requester has seen, shared between its handlers.
    final class RequesterProgress: Sendable {
        struct State {
            var received = 0
            var bytes = 0
            var crc: UInt32 = 0
            var finished = false
            var nextExpected: UInt64 = 1
        }
        let state = LockedState(State())
        let done = AsyncStream.makeStream(of: Void.self)
    }

    /// The provider's view of the stream it serves.
    final class ProviderStream: Sendable {
        struct State {
            var sent: UInt64 = 0
            var acked: UInt64 = 0
            var window = 1
            var requester: TransportAddress?
            var session: UInt64 = 0
        }
        let state = LockedState(State())
    }

    func run() async throws -> Report {
        let network = LoopbackNetwork(seed: seed)
        let addresses: [TransportAddress] = ["loopback://a", "loopback://b", "loopback://c"]
        let entities = addresses.enumerated().map { MonitorEntity(rank: Int32($0.offset), name: String($0.element.location), address: "\($0.element)") }
        let transports = addresses.map { LoopbackTransport(address: $0, network: network) }
        for transport in transports { try await transport.start() }
        let (requester, leader, provider) = (transports[0], transports[1], transports[2])

        let progress = RequesterProgress()
        let stream = ProviderStream()
        let payloads = makePayloads()
        let session: UInt64 = 0x5EED_0000 | seed

        var steps: [String] = []
        let stepLog = LockedState<[String]>([])
        @Sendable func step(_ text: String) { stepLog.withLock { $0.append(text) } }

        // Leader: grant the sync and name the provider; acknowledge FINISH.
        var leaderRouter = MessageRouter()
        leaderRouter.register(.start) { message, context in
            step("leader b: START from \(context.sender) -> grant, provider c")
            try await context.reply(MMonSync(op: .startReply, replyTo: entities[2], session: message.session,
                                             quorum: [entities[1], entities[2]]))
        }
        leaderRouter.register(.finish) { message, context in
            step("leader b: FINISH from \(context.sender) -> FINISH_REPLY")
            try await context.reply(MMonSync(op: .finishReply, session: message.session))
        }

        // Provider: stream the chunks with a window of unacknowledged ones.
        var providerRouter = MessageRouter()
        @Sendable func pump(_ context: MessageContext) async throws {
            while true {
                let next = stream.state.withLock { state -> UInt64? in
                    guard state.sent < UInt64(payloads.count), state.sent - state.acked < UInt64(state.window) else { return nil }
                    state.sent += 1
                    return state.sent
                }
                guard let sequence = next else { return }
                let payload = payloads[Int(sequence - 1)]
                let last = sequence == UInt64(payloads.count)
                try await context.dispatcher.send(
                    MMonSync(op: .chunk, flags: last ? [.crc, .last] : [.crc], version: last ? 42 : 0, chunk: payload[...],
                             lastKey: SyncKey(prefix: "demo", key: String(sequence)), crc: CRC32C.checksum(payload),
                             session: session, sequence: sequence),
                    to: context.sender)
            }
        }
        providerRouter.register(.startChunks) { message, context in
            step("provider c: START_CHUNKS from \(context.sender), window \(message.window)")
            stream.state.withLock { $0.window = Int(max(1, message.window)); $0.requester = context.sender }
            try await pump(context)
        }
        providerRouter.register(.chunkReply) { message, context in
            stream.state.withLock { $0.acked = max($0.acked, message.sequence) }
            if message.flags.contains(.last) { step("provider c: last chunk acknowledged") }
            try await pump(context)
        }

        // Requester: ask the leader, stream from the provider, verify, finish.
        var requesterRouter = MessageRouter()
        requesterRouter.register(.startReply) { message, context in
            guard let provider = message.replyTo else { return }
            step("requester a: START_REPLY, syncing from \(provider)")
            try await context.dispatcher.send(MMonSync(op: .startChunks, session: session, window: UInt32(window)),
                                              to: try TransportAddress(provider.address))
        }
        requesterRouter.register(.chunk) { message, context in
            guard message.crc == CRC32C.checksum(message.chunk), message.session == session else { return }
            let (ack, last) = progress.state.withLock { state -> (UInt64?, Bool) in
                guard message.sequence == state.nextExpected else { return (nil, false) }
                state.nextExpected += 1
                state.received += 1
                state.bytes += message.chunk.count
                state.crc = CRC32C.checksum(message.chunk, extending: state.crc)
                return (message.sequence, message.flags.contains(.last))
            }
            guard let ack else { return }
            try await context.reply(MMonSync(op: .chunkReply, flags: last ? [.last] : [], session: session, sequence: ack))
            if last {
                step("requester a: last chunk at version \(message.version); FINISH to the leader")
                try await context.dispatcher.send(MMonSync(op: .finish, session: session), to: addresses[1])
            }
        }
        requesterRouter.register(.finishReply) { _, _ in
            step("requester a: FINISH_REPLY")
            progress.state.withLock { $0.finished = true }
            progress.done.continuation.finish()
        }

        let dispatchers = [
            Dispatcher(transport: requester, router: requesterRouter),
            Dispatcher(transport: leader, router: leaderRouter),
            Dispatcher(transport: provider, router: providerRouter),
        ]
        let clock = ContinuousClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for dispatcher in dispatchers { group.addTask { await dispatcher.run() } }
            step("requester a: START to leader b")
            try await dispatchers[0].send(MMonSync(op: .start, session: session), to: addresses[1])
            group.addTask {
                // Every wait on a peer has a timeout.
                try await Task.sleep(for: .seconds(60))
                progress.done.continuation.finish()
            }
            for await _ in progress.done.stream {}
            for transport in transports { await transport.shutdown() }
            group.cancelAll()
        }
        let elapsed = started.duration(to: clock.now)
        steps = stepLog.withLock { $0 }

        let expectedCRC = payloads.reduce(UInt32(0)) { CRC32C.checksum($1, extending: $0) }
        let result = progress.state.withLock { $0 }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let megabytes = Double(result.bytes) / 1_048_576
        let succeeded = result.finished && result.received == chunks && result.crc == expectedCRC
        var lines = steps
        lines.append("")
        lines.append("chunks: \(result.received)/\(chunks)  bytes: \(result.bytes)  window: \(window)")
        lines.append(String(format: "time: %.3f s  throughput: %.1f MiB/s", seconds, megabytes / max(seconds, 1e-9)))
        lines.append("crc32c sent: 0x\(String(expectedCRC, radix: 16))  received: 0x\(String(result.crc, radix: 16))")
        for dispatcher in dispatchers {
            let s = dispatcher.statistics.snapshot
            lines.append("\(dispatcher.transport.localAddress): received \(s.received), sent \(s.sent), dropped \(s.dropped)")
        }
        lines.append(succeeded ? "OK: every chunk arrived intact and in order" : "FAILED: the stream did not complete intact")
        return Report(succeeded: succeeded, summary: lines.joined(separator: "\n"))
    }

    private func makePayloads() -> [[UInt8]] {
        var rng = SeededRandomNumberGenerator(seed: seed)
        return (0..<chunks).map { _ in
            var bytes = [UInt8](repeating: 0, count: chunkSize)
            bytes.withUnsafeMutableBytes { raw in
                var offset = 0
                while offset < raw.count {
                    var word = rng.next()
                    let n = min(8, raw.count - offset)
                    withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
                    offset += n
                }
            }
            return bytes
        }
    }
}
