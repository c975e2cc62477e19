import MonSyncCore
import MonSyncMessages

/// Hostile input through a real transport into a real `Dispatcher`.
///
/// The hostile messages keep an intact frame envelope (magic, length, CRC): a
/// stream transport cuts its stream with `FrameStreamDecoder` and must close a
/// connection whose envelope is broken, as it can no longer find the next frame.
/// Everything inside the envelope is hostile, and it is the dispatcher's job,
/// not the transport's, to refuse it without harm.
enum HostileBytesCheck {
    /// The hostile frames, each with the ``DecodeError/kind`` the dispatcher should count it under.
    static func hostileFrames() throws -> [(name: String, kind: String, bytes: [UInt8])] {
        var rng = SeededRandomNumberGenerator(seed: 0x5EED)
        let garbage = (0..<61).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let codec = MessageCodec.monitor()
        let valid = codec.encode(MMonSync(op: .heartbeat, session: 7))
        guard let (header, payload) = try? Frame.decode(valid[...]) else {
            throw Mismatch(expected: "the codec to encode a valid MMonSync frame", observed: "Frame.decode refused it")
        }
        let mmonSync = MessageType.mmonSync
        return [
            ("a frame of an unknown message type", "unknown_type",
             Frame.encode(type: MessageType(0xBEEF), version: 1, compatVersion: 1) { $0.appendRaw(garbage) }),
            ("an MMonSync frame with an empty payload", "truncated",
             Frame.encode(type: mmonSync, version: header.version, compatVersion: 1) { _ in }),
            ("an MMonSync frame whose payload is random bytes", "invalid_field",
             Frame.encode(type: mmonSync, version: header.version, compatVersion: 1) { e in
                 e.encode(UInt32(0xDEAD_BEEF))  // no such op
                 e.appendRaw(garbage)
             }),
            ("an MMonSync frame from a future incompatible version", "unsupported_version",
             Frame.encode(type: mmonSync, version: 9, compatVersion: 9) { $0.appendRaw(payload) }),
            ("an MMonSync heartbeat with a flag the op does not allow", "invalid_flags",
             codec.encode(MMonSync(op: .heartbeat, flags: [.last], session: 7))),
            ("an MMonSync frame with bytes after its last field", "trailing_bytes",
             Frame.encode(type: mmonSync, version: header.version, compatVersion: 1) { e in
                 e.appendRaw(payload)
                 e.appendRaw([0xFF, 0xFF, 0xFF])
             }),
        ]
    }

    @Sendable static func run(_ context: CheckContext) async throws {
        let a = try await context.node("a", consume: false)
        let b = try await context.node("b", consume: false)
        let handled = LockedState<[(MMonSync, TransportAddress)]>([])
        var router = MessageRouter()
        router.register(.heartbeat) { message, messageContext in
            handled.withLock { $0.append((message, messageContext.sender)) }
        }
        let dispatcher = Dispatcher(transport: b.transport, codec: .monitor(), router: router)
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }

        let hostile = try hostileFrames()
        for frame in hostile {
            try await context.send(frame.bytes, from: a.transport, to: b.address, frame.name)
        }
        let good = MMonSync(op: .heartbeat, session: 0xC0FFEE)
        try await context.send(dispatcher.codec.encode(good), from: a.transport, to: b.address, "a valid MMonSync heartbeat")

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: context.timeout)
        while handled.withLock({ $0.isEmpty }) {
            guard clock.now < deadline else {
                throw Mismatch(expected: "the valid heartbeat after \(hostile.count) hostile messages to be handled within \(context.timeout)",
                               observed: "not handled; dispatcher statistics \(dispatcher.statistics.snapshot)")
            }
            try await clock.sleep(for: .milliseconds(10))
        }
        let (message, sender) = handled.withLock { $0[0] }
        guard message == good, sender == a.address else {
            throw Mismatch(expected: "the heartbeat \(good) from \(a.address)", observed: "\(message) from \(sender)")
        }
        let statistics = dispatcher.statistics.snapshot
        var expectedKinds: [String: Int] = [:]
        for frame in hostile { expectedKinds[frame.kind, default: 0] += 1 }
        guard statistics.received == hostile.count + 1, statistics.handled == 1, statistics.malformed == expectedKinds,
              statistics.unroutable == 0, statistics.handlerFailures == 0 else {
            throw Mismatch(expected: "received \(hostile.count + 1), handled 1, malformed \(expectedKinds.sorted { $0.key < $1.key })",
                           observed: "received \(statistics.received), handled \(statistics.handled), malformed \(statistics.malformed.sorted { $0.key < $1.key }), unroutable \(statistics.unroutable), handler failures \(statistics.handlerFailures)")
        }
    }
}
