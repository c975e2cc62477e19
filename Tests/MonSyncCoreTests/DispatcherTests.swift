import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
import Testing

/// A message type the core knows nothing about: proves a new type plugs in without touching the dispatcher.
struct ProbeMessage: WireMessage, Equatable {
    static let messageType = MessageType(64)  // Ceph's MSG_MON_PROBE
    static let headVersion: UInt8 = 1
    static let name = "mon_probe"
    var op: UInt32
    var name: String

    var routingKey: UInt32? { op }
    func encodePayload(into e: inout WireEncoder) {
        e.encode(op)
        e.encode(name)
    }
    init(op: UInt32, name: String) {
        self.op = op
        self.name = name
    }
    init(decodingPayload d: inout WireDecoder, version: UInt8) throws(DecodeError) {
        op = try d.decodeUInt32()
        name = try d.decodeString(field: "name")
    }
}

/// Collects what handlers saw, and lets a test wait for it with a timeout.
final class Inbox<T: Sendable>: Sendable {
    private let items = LockedState<[T]>([])
    private let stream = AsyncStream.makeStream(of: Void.self)

    func add(_ item: T) {
        items.withLock { $0.append(item) }
        stream.continuation.yield()
    }

    var all: [T] { items.withLock { $0 } }

    /// Waits until `count` items arrived, failing the test after `timeout` (a bound against a hang, not a
    /// speed check: on a loaded 2-core machine the handlers may not run for several seconds).
    func wait(for count: Int, timeout: Duration = .seconds(60)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while all.count < count {
            if clock.now > deadline {
                Issue.record("timed out waiting for \(count) items, have \(all.count)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

@Suite("Dispatcher")
struct DispatcherTests {
    /// Two loopback endpoints; `b` runs a dispatcher with `router`.
    func withPair(
        router: MessageRouter, codec: MessageCodec = MessageCodec.monitor(),
        _ body: (LoopbackTransport, Dispatcher) async throws -> Void
    ) async throws {
        let network = LoopbackNetwork()
        let a = LoopbackTransport(address: "loopback://a", network: network)
        let b = LoopbackTransport(address: "loopback://b", network: network)
        try await a.start()
        try await b.start()
        let dispatcher = Dispatcher(transport: b, codec: codec, router: router)
        let running = Task { await dispatcher.run() }
        try await body(a, dispatcher)
        await a.shutdown()
        await b.shutdown()
        await running.value
    }

    @Test("MMonSync is routed by op to the handler registered for it")
    func routesByOp() async throws {
        let seen = Inbox<(MMonSync.Op, TransportAddress)>()
        var router = MessageRouter()
        for op in MMonSync.Op.allCases {
            router.register(op) { message, context in
                #expect(message.op == op)
                seen.add((op, context.sender))
            }
        }
        try await withPair(router: router) { a, dispatcher in
            let codec = MessageCodec.monitor()
            for sample in MessageSamples.canonical { try await a.send(codec.encode(sample.message), to: "loopback://b") }
            try await seen.wait(for: MessageSamples.canonical.count)
            #expect(seen.all.map(\.0) == MessageSamples.canonical.map(\.message.op))
            #expect(seen.all.allSatisfy { $0.1 == "loopback://a" })
            #expect(dispatcher.statistics.snapshot.handled == MessageSamples.canonical.count)
            #expect(dispatcher.statistics.snapshot.dropped == 0)
        }
    }

    @Test("handlers reply through the dispatcher to the sender")
    func replies() async throws {
        var router = MessageRouter()
        router.register(.heartbeat) { message, context in
            try await context.reply(MMonSync(op: .heartbeatReply, session: message.session, sequence: message.sequence))
        }
        let network = LoopbackNetwork()
        let a = LoopbackTransport(address: "loopback://a", network: network)
        let b = LoopbackTransport(address: "loopback://b", network: network)
        try await a.start()
        try await b.start()
        let replies = Inbox<MMonSync>()
        var clientRouter = MessageRouter()
        clientRouter.register(.heartbeatReply) { message, _ in replies.add(message) }
        let client = Dispatcher(transport: a, codec: .monitor(), router: clientRouter)
        let server = Dispatcher(transport: b, codec: .monitor(), router: router)
        let tasks = [Task { await client.run() }, Task { await server.run() }]
        for sequence in 1...5 { try await client.send(MMonSync(op: .heartbeat, session: 9, sequence: UInt64(sequence)), to: "loopback://b") }
        try await replies.wait(for: 5)
        #expect(replies.all.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(replies.all.allSatisfy { $0.session == 9 && $0.op == .heartbeatReply })
        await a.shutdown()
        await b.shutdown()
        for task in tasks { await task.value }
    }

    @Test("malformed input is counted by kind and dropped; good messages keep flowing")
    func malformedDropped() async throws {
        let seen = Inbox<MMonSync>()
        var router = MessageRouter()
        router.register(.heartbeat) { message, _ in seen.add(message) }
        try await withPair(router: router) { a, dispatcher in
            let good = MessageCodec.monitor().encode(MMonSync(op: .heartbeat, sequence: 1))
            var corrupt = good
            corrupt[Frame.headerSize] ^= 0xFF
            try await a.send([1, 2, 3], to: "loopback://b")                 // truncated
            try await a.send(corrupt, to: "loopback://b")                   // CRC mismatch
            try await a.send(Array(repeating: 0x41, count: 64), to: "loopback://b")  // bad magic
            try await a.send(good, to: "loopback://b")
            try await seen.wait(for: 1)
            let stats = dispatcher.statistics.snapshot
            #expect(stats.malformed == ["truncated": 1, "crc_mismatch": 1, "bad_magic": 1])
            #expect(stats.handled == 1)
            #expect(stats.received == 4)
        }
    }

    @Test("a message with no handler is counted as unroutable")
    func unroutable() async throws {
        let seen = Inbox<MMonSync>()
        var router = MessageRouter()
        router.register(.chunk) { message, _ in seen.add(message) }
        try await withPair(router: router) { a, dispatcher in
            let codec = MessageCodec.monitor()
            try await a.send(codec.encode(MMonSync(op: .abort)), to: "loopback://b")
            try await a.send(codec.encode(MMonSync(op: .chunk, sequence: 4)), to: "loopback://b")
            try await seen.wait(for: 1)
            #expect(dispatcher.statistics.snapshot.unroutable == 1)
            #expect(seen.all.first?.sequence == 4)
        }
    }

    @Test("a handler that throws is counted and the node keeps serving")
    func handlerFailure() async throws {
        struct Boom: Error {}
        let seen = Inbox<UInt64>()
        var router = MessageRouter()
        router.register(.chunk) { message, _ in
            if message.sequence == 1 { throw Boom() }
            seen.add(message.sequence)
        }
        try await withPair(router: router) { a, dispatcher in
            let codec = MessageCodec.monitor()
            for sequence in 1...3 { try await a.send(codec.encode(MMonSync(op: .chunk, sequence: UInt64(sequence))), to: "loopback://b") }
            try await seen.wait(for: 2)
            #expect(seen.all == [2, 3])
            #expect(dispatcher.statistics.snapshot.handlerFailures == 1)
        }
    }

    @Test("a new message type plugs into the codec and router without touching the dispatcher")
    func newMessageType() async throws {
        var codec = MessageCodec()  // the core's empty registry: MonSync's messages are not needed here
        codec.register(ProbeMessage.self)
        let probes = Inbox<ProbeMessage>()
        let fallback = Inbox<ProbeMessage>()
        var router = MessageRouter()
        router.register(ProbeMessage.self, routingKey: 1) { message, _ in probes.add(message) }
        router.register(ProbeMessage.self) { message, _ in fallback.add(message) }  // catch-all for other ops
        try await withPair(router: router, codec: codec) { a, dispatcher in
            try await a.send(codec.encode(ProbeMessage(op: 1, name: "probe")), to: "loopback://b")
            try await a.send(codec.encode(ProbeMessage(op: 2, name: "reply")), to: "loopback://b")
            try await probes.wait(for: 1)
            try await fallback.wait(for: 1)
            #expect(probes.all == [ProbeMessage(op: 1, name: "probe")])
            #expect(fallback.all == [ProbeMessage(op: 2, name: "reply")])
            // A codec without the registration refuses the type by name.
            #expect(throws: DecodeError.unknownMessageType(MessageType(64))) {
                try MessageCodec().decode(codec.encode(ProbeMessage(op: 1, name: "x")))
            }
            #expect(dispatcher.statistics.snapshot.dropped == 0)
        }
    }

    @Test("peer up and down events reach the handlers")
    func peerEvents() async throws {
        let events = Inbox<PeerEvent>()
        var router = MessageRouter()
        router.onPeerEvent { event, _ in events.add(event) }
        try await withPair(router: router) { a, dispatcher in
            try await dispatcher.transport.connect(to: "loopback://a")
            try await events.wait(for: 1)
            await a.shutdown()
            try await events.wait(for: 2)
            #expect(events.all == [.up("loopback://a"), .down("loopback://a")])
        }
    }

    @Test("sending an invalid message is refused before it reaches the wire")
    func refusesInvalidSend() async throws {
        try await withPair(router: MessageRouter()) { _, dispatcher in
            await #expect(throws: DispatchError.invalidMessage(.invalidFlags(op: 3, flags: 0x01))) {
                try await dispatcher.send(MMonSync(op: .heartbeat, flags: .last), to: "loopback://a")
            }
            await #expect(throws: DispatchError.transport(.peerUnreachable("loopback://nobody"))) {
                try await dispatcher.send(MMonSync(op: .heartbeat), to: "loopback://nobody")
            }
            #expect(dispatcher.statistics.snapshot.sendFailures == 1)
        }
    }
}
