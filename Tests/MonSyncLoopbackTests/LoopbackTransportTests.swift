import Clocks
import MonSyncCore
import MonSyncLoopback
import Testing

@Suite("Loopback transport", .timeLimit(.minutes(3)))
struct LoopbackTransportTests {
    func started(_ address: TransportAddress, _ network: LoopbackNetwork, options: TransportOptions = TransportOptions()) async throws -> LoopbackTransport {
        let transport = LoopbackTransport(address: address, network: network, options: options)
        try await transport.start()
        return transport
    }

    @Test("messages from each sender arrive in order, interleaved fairly between senders")
    func fifoPerPair() async throws {
        let network = LoopbackNetwork()
        let a = try await started("loopback://a", network)
        let c = try await started("loopback://c", network)
        let b = try await started("loopback://b", network, options: TransportOptions(queueCapacity: 16))
        let collector = EventCollector(b)
        async let fromA: Void = { for n in 0..<2000 { try await a.send(numbered(1, n), to: "loopback://b") } }()
        async let fromC: Void = { for n in 0..<2000 { try await c.send(numbered(2, n), to: "loopback://b") } }()
        _ = try await (fromA, fromC)
        await collector.wait("4000 messages") { collector.messages.count == 4000 }
        let received = collector.messages.map(number(of:))
        #expect(received.filter { $0.sender == 1 }.map(\.n) == Array(0..<2000))
        #expect(received.filter { $0.sender == 2 }.map(\.n) == Array(0..<2000))
        // Round-robin between pairs: the receiver never sees one sender's whole backlog first.
        let firstC = try #require(received.firstIndex { $0.sender == 2 })
        #expect(firstC < 100)
        for t in [a, b, c] { await t.shutdown() }
    }

    @Test("a full queue makes send wait, and resumes when the receiver drains it")
    func backpressureWaits() async throws {
        let network = LoopbackNetwork()
        let clock = TestClock()
        let options = TransportOptions(sendTimeout: .seconds(5), queueCapacity: 4, clock: clock)
        let a = try await started("loopback://a", network, options: options)
        let b = try await started("loopback://b", network, options: options)
        for n in 0..<4 { try await a.send(numbered(1, n), to: "loopback://b") }
        let fifth = Task { try await a.send(numbered(1, 4), to: "loopback://b") }
        await settle()
        // Draining one message makes room: the waiting send completes without any clock advance.
        var iterator = b.events.makeAsyncIterator()
        let first = await iterator.next()
        guard case let .message(message)? = first else { Issue.record("expected a message"); return }
        #expect(number(of: message.bytes).n == 0)
        try await fifth.value
        var rest: [Int] = []
        for _ in 0..<4 { if case let .message(m)? = await iterator.next() { rest.append(number(of: m.bytes).n) } }
        #expect(rest == [1, 2, 3, 4])
        await a.shutdown()
        await b.shutdown()
    }

    @Test("a send that waits longer than the send timeout fails with sendTimedOut")
    func backpressureTimesOut() async throws {
        let network = LoopbackNetwork()
        let clock = TestClock()
        let options = TransportOptions(sendTimeout: .seconds(5), queueCapacity: 2, clock: clock)
        let a = try await started("loopback://a", network, options: options)
        let b = try await started("loopback://b", network, options: options)
        for n in 0..<2 { try await a.send(numbered(1, n), to: "loopback://b") }
        let third = Task { try await a.send(numbered(1, 2), to: "loopback://b") }
        await settle()
        await clock.advance(by: .seconds(4))
        await settle()
        await clock.advance(by: .seconds(1))
        let result = await third.result
        #expect(throws: TransportError.sendTimedOut("loopback://b", after: .seconds(5))) { try result.get() }
        await a.shutdown()
        await b.shutdown()
    }

    @Test("sending to an address nobody serves fails at once")
    func unknownPeer() async throws {
        let a = try await started("loopback://a", LoopbackNetwork())
        await #expect(throws: TransportError.peerUnreachable("loopback://ghost")) {
            try await a.send([1], to: "loopback://ghost")
        }
        await a.shutdown()
    }

    @Test("a message over the size limit is refused before it is sent")
    func tooLarge() async throws {
        let network = LoopbackNetwork()
        let a = try await started("loopback://a", network, options: TransportOptions(maximumMessageSize: 100))
        let b = try await started("loopback://b", network)
        await #expect(throws: TransportError.messageTooLarge(size: 101, limit: 100)) {
            try await a.send([UInt8](repeating: 0, count: 101), to: "loopback://b")
        }
        #expect(network.statistics.sent == 0)
        await a.shutdown()
        await b.shutdown()
    }

    @Test("a 64 MiB message crosses unchanged")
    func hugeMessage() async throws {
        let network = LoopbackNetwork()
        let a = try await started("loopback://a", network)
        let b = try await started("loopback://b", network)
        var big = [UInt8](repeating: 0x5A, count: 64 << 20)
        for index in stride(from: 0, to: big.count, by: 4093) { big[index] = UInt8(truncatingIfNeeded: index >> 12) }
        try await a.send(big, to: "loopback://b")
        var iterator = b.events.makeAsyncIterator()
        guard case let .message(message)? = await iterator.next() else { Issue.record("no message"); return }
        #expect(message.bytes == big)
        await a.shutdown()
        await b.shutdown()
    }

    @Test("lifecycle: double start, address in use, send after shutdown, events finish")
    func lifecycle() async throws {
        let network = LoopbackNetwork()
        let a = try await started("loopback://a", network)
        await #expect(throws: TransportError.alreadyStarted) { try await a.start() }
        let twin = LoopbackTransport(address: "loopback://a", network: network)
        await #expect(throws: TransportError.self) { try await twin.start() }
        let collector = EventCollector(a)
        await a.shutdown()
        await a.shutdown()  // idempotent
        await collector.wait("events to finish") { collector.isFinished }
        await #expect(throws: TransportError.notRunning) { try await a.send([1], to: "loopback://a") }
        // The address is free again.
        let again = try await started("loopback://a", network)
        await again.shutdown()
    }

    @Test("shutdown releases a sender blocked on a full queue")
    func shutdownReleasesBlockedSender() async throws {
        let network = LoopbackNetwork()
        let options = TransportOptions(sendTimeout: .seconds(3600), queueCapacity: 1)
        let a = try await started("loopback://a", network, options: options)
        let b = try await started("loopback://b", network, options: options)
        try await a.send([1], to: "loopback://b")
        let blocked = Task { try await a.send([2], to: "loopback://b") }
        await settle()
        await b.shutdown()
        let result = await blocked.result
        #expect(throws: TransportError.peerUnreachable("loopback://b")) { try result.get() }
        await a.shutdown()
    }

    @Test("peers that connected see each other go down and come back after a restart")
    func restartEvents() async throws {
        let network = LoopbackNetwork()
        let a = try await started("loopback://a", network)
        let collector = EventCollector(a)
        try await a.connect(to: "loopback://b")  // not up yet: no event
        let b = try await started("loopback://b", network)
        await collector.wait("b up") { collector.peerEvents == [.up("loopback://b")] }
        await b.shutdown()
        await collector.wait("b down") { collector.peerEvents.count == 2 }
        let b2 = try await started("loopback://b", network)
        await collector.wait("b up again") { collector.peerEvents.count == 3 }
        #expect(collector.peerEvents == [.up("loopback://b"), .down("loopback://b"), .up("loopback://b")])
        try await a.send([7], to: "loopback://b")  // reconnected without help
        await a.shutdown()
        await b2.shutdown()
    }
}
