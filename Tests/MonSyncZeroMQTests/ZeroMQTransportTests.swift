#if ZeroMQ
import Glibc
import MonSyncCore
import MonSyncTestSupport
import MonSyncZeroMQ
import Synchronization
import Testing

@Suite("ZeroMQ transport", .serialized, .timeLimit(.minutes(1)))
struct ZeroMQTransportTests {
    @Test("messages travel both ways, with the sender's address", arguments: ["tcp", "ipc", "inproc"])
    func exchange(scheme: String) async throws {
        let a = try await startedTransport(scheme)
        let b = try await startedTransport(scheme)
        let eventsA = EventCollector(a), eventsB = EventCollector(b)

        try await a.send(Array("hello".utf8), to: b.localAddress)
        try await eventsB.wait("hello at b") { _ in !eventsB.messages.isEmpty }
        let hello = try #require(eventsB.messages.first)
        #expect(hello.sender == a.localAddress)
        #expect(hello.bytes == Array("hello".utf8))

        try await b.send(Array("world".utf8), to: hello.sender)
        try await eventsA.wait("world at a") { _ in !eventsA.messages.isEmpty }
        #expect(eventsA.messages.map(\.sender) == [b.localAddress])
        #expect(eventsA.messages.map(\.bytes) == [Array("world".utf8)])
        try await eventsA.wait("b up at a") { _ in eventsA.ups(of: b.localAddress) == 1 }
        try await eventsB.wait("a up at b") { _ in eventsB.ups(of: a.localAddress) == 1 }

        // An empty message is a message too.
        try await a.send([], to: b.localAddress)
        try await eventsB.wait("empty message") { _ in eventsB.messages.count == 2 }
        #expect(eventsB.messages.last?.bytes == [])

        await a.shutdown()
        await b.shutdown()
        #expect(a.statistics.messagesSent == 2 && b.statistics.messagesReceived == 2)
        try await eventually("events finish") { eventsA.isFinished && eventsB.isFinished }
    }

    @Test("10,000 messages from one sender arrive in order", arguments: ["tcp", "inproc"])
    func perPairOrdering(scheme: String) async throws {
        let a = try await startedTransport(scheme)
        let b = try await startedTransport(scheme)
        let c = try await startedTransport(scheme)
        let events = EventCollector(b)
        let count = 10_000
        // Two senders at once: each one's messages keep their order; nothing is promised across them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in [a, c] {
                group.addTask {
                    for index in 0..<count {
                        let value = UInt32(index)
                        try await sender.send(withUnsafeBytes(of: value.littleEndian, Array.init), to: b.localAddress)
                    }
                }
            }
            try await group.waitForAll()
        }
        try await events.wait("\(2 * count) messages", timeout: .seconds(30)) { _ in events.messages.count == 2 * count }
        // How fast they pass is measured by the benchmarks (BENCHMARKS.md), not asserted here.
        for sender in [a, c] {
            let values = events.messages.filter { $0.sender == sender.localAddress }.map { message in
                message.bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
            }
            #expect(values == (0..<UInt32(count)).map { $0 })
        }
        for transport in [a, b, c] { await transport.shutdown() }
    }

    @Test("a 64 MiB message passes intact, and a larger one is refused before sending")
    func largeMessage() async throws {
        let a = try await startedTransport("tcp")
        let b = try await startedTransport("tcp")
        let events = EventCollector(b)
        let size = a.limits.maximumMessageSize
        #expect(size == Frame.defaultMaximumPayloadSize + Frame.overhead)
        var payload = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 4093) { payload[index] = UInt8(truncatingIfNeeded: index / 4093 &+ 1) }
        payload[size - 1] = 0xA5

        try await a.send(payload, to: b.localAddress)
        try await events.wait("the large message", timeout: .seconds(30)) { _ in !events.messages.isEmpty }
        let received = try #require(events.messages.first)
        #expect(received.bytes.count == size)
        let same = received.bytes.withUnsafeBytes { r in payload.withUnsafeBytes { p in memcmp(r.baseAddress!, p.baseAddress!, size) == 0 } }
        #expect(same)

        await #expect(throws: TransportError.messageTooLarge(size: size + 1, limit: size)) {
            try await a.send([UInt8](repeating: 1, count: size + 1), to: b.localAddress)
        }
        #expect(a.statistics.messagesSent == 1)
        await a.shutdown()
        await b.shutdown()
    }

    /// A secured transport starts its context's ZAP handler, which libzmq then asks about plaintext
    /// (NULL) handshakes too: they must go on as before (they failed, and every plaintext transport
    /// of the test process with them, while a secured one ran).
    @Test("plaintext transports keep working beside a secured one in the same context")
    func plaintextBesideSecured() async throws {
        let secured = try await startedTransport("tcp", configuration: ZeroMQConfiguration(
            security: ZeroMQSecurity(keyPair: try CurveKeyPair.generate(), keyring: CurveKeyring())))
        let a = try await startedTransport("tcp")
        let b = try await startedTransport("tcp")
        let events = EventCollector(b)
        try await a.send([1, 2, 3], to: b.localAddress)
        try await events.wait("the plaintext message", timeout: .seconds(10)) { _ in !events.messages.isEmpty }
        #expect(events.messages.first?.bytes == [1, 2, 3])
        #expect(events.messages.first?.peer == nil, "plaintext proves no identity")
        await a.shutdown()
        await b.shutdown()
        await secured.shutdown()
    }

    @Test("with CURVE, a transport whose message limit is smaller than the handshake's commands still connects")
    func curveWithSmallMessageLimit() async throws {
        // libzmq applies ZMQ_MAXMSGSIZE to CURVE's HELLO (200 bytes) and INITIATE too: with the
        // limit at 64 + 64 bytes no handshake completed and the send timed out.
        let keysA = try CurveKeyPair.generate(), keysB = try CurveKeyPair.generate()
        let keyring = CurveKeyring()
        try keyring.admit(PeerIdentity(name: "a", role: .monitor, credential: keysA.publicKey))
        try keyring.admit(PeerIdentity(name: "b", role: .monitor, credential: keysB.publicKey))
        let options = testOptions(maximumMessageSize: 64)
        let a = try await startedTransport("tcp", options: options, configuration: ZeroMQConfiguration(
            security: ZeroMQSecurity(keyPair: keysA, keyring: keyring)))
        let b = try await startedTransport("tcp", options: options, configuration: ZeroMQConfiguration(
            security: ZeroMQSecurity(keyPair: keysB, keyring: keyring)))
        try keyring.bind(a.localAddress, to: keysA.publicKey)
        try keyring.bind(b.localAddress, to: keysB.publicKey)
        let events = EventCollector(b)
        try await a.send([UInt8](repeating: 7, count: 64), to: b.localAddress)
        try await events.wait("the 64-byte message") { _ in !events.messages.isEmpty }
        #expect(events.messages.first?.bytes == [UInt8](repeating: 7, count: 64))
        #expect(events.messages.first?.peer?.name == "a")
        await a.shutdown()
        await b.shutdown()
    }

    @Test("a send to an address nobody serves fails with peerUnreachable within the send timeout",
          arguments: ["tcp", "ipc", "inproc"])
    func unknownPeer(scheme: String) async throws {
        let a = try await startedTransport(scheme, options: testOptions(sendTimeout: .milliseconds(300)))
        let nobody = Addresses.make(scheme)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: TransportError.peerUnreachable(nobody)) {
            try await a.send([1, 2, 3], to: nobody)
        }
        let elapsed = start.duration(to: clock.now)
        // It waited for the send timeout, and did not hang (the upper bound only catches a hang).
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(15), "took \(elapsed)")
        #expect(a.statistics.sendsUnreachable == 1)
        // A connection only that send opened, to a peer that never came up, is not kept.
        #expect(a.statistics.outboundLinks == 0)
        // One that connect(to:) asked for is.
        try await a.connect(to: nobody)
        try await eventually("the pinned link") { a.statistics.outboundLinks == 1 }

        await #expect(throws: TransportError.self) { try await a.send([1], to: "loopback://elsewhere") }
        await a.shutdown()
    }

    @Test("a peer that goes down is reported down, and up again when it restarts", arguments: ["tcp", "ipc", "inproc"])
    func peerRestart(scheme: String) async throws {
        let a = try await startedTransport(scheme)
        var b = try await startedTransport(scheme)
        let address = b.localAddress
        let events = EventCollector(a)

        try await a.connect(to: address)
        try await events.wait("peer up") { _ in events.ups(of: address) == 1 }
        await b.shutdown()
        try await events.wait("peer down") { _ in events.downs(of: address) == 1 }

        b = try await startedTransport(at: address)
        let eventsB = EventCollector(b)
        try await events.wait("peer up again") { _ in events.ups(of: address) == 2 }
        try await a.send(Array("after restart".utf8), to: address)
        try await eventsB.wait("message after restart") { _ in !eventsB.messages.isEmpty }
        #expect(eventsB.messages.first?.bytes == Array("after restart".utf8))
        #expect(eventsB.messages.first?.sender == a.localAddress)
        // Events of one peer come in order: up, down, up.
        let sequence = events.events.compactMap { event -> String? in
            switch event {
            case .peerUp(address): "up"
            case .peerDown(address): "down"
            default: nil
            }
        }
        #expect(sequence == ["up", "down", "up"])
        await a.shutdown()
        await b.shutdown()
    }

    @Test("shutdown fails a blocked send with notRunning and returns promptly")
    func shutdownWhileSenderBlocked() async throws {
        let a = try await startedTransport("tcp", options: testOptions(sendTimeout: .seconds(60)))
        let nobody = Addresses.make("tcp")
        let blocked = Task { () -> TransportError? in
            do throws(TransportError) {
                try await a.send([1, 2, 3], to: nobody)
                return nil
            } catch { return error }
        }
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let start = clock.now
        try await withTimeout("shutdown", .seconds(5)) { await a.shutdown() }
        #expect(start.duration(to: clock.now) < .seconds(3))
        let error = try await withTimeout("the blocked send", .seconds(5)) { await blocked.value }
        #expect(error == .notRunning)
        // Idempotent, and sends now fail at once.
        await a.shutdown()
        await #expect(throws: TransportError.notRunning) { try await a.send([1], to: nobody) }
    }

    @Test("a receiver that does not keep up pushes back: send waits, then throws sendTimedOut")
    func backpressure() async throws {
        let options = testOptions(sendTimeout: .milliseconds(300), queueCapacity: 4)
        let a = try await startedTransport("tcp", options: options)
        let b = try await startedTransport("tcp", options: options)
        let chunk = [UInt8](repeating: 7, count: 256 * 1024)
        var sent = 0
        var failure: TransportError?
        while sent < 2000 {
            do {
                try await a.send(chunk, to: b.localAddress)
                sent += 1
            } catch {
                failure = error
                break
            }
        }
        #expect(failure == .sendTimedOut(b.localAddress, after: .milliseconds(300)), "after \(sent) sends")
        #expect(sent >= 4)
        #expect(a.statistics.sendsTimedOut == 1)

        // Once the receiver consumes, the sender can go on, and nothing was lost or reordered.
        let events = EventCollector(b)
        try await a.send(Array("after".utf8), to: b.localAddress)
        try await events.wait("all messages", timeout: .seconds(20)) { _ in events.messages.count == sent + 1 }
        #expect(events.messages.last?.bytes == Array("after".utf8))
        #expect(events.messages.dropLast().allSatisfy { $0.bytes.count == chunk.count })
        await a.shutdown()
        await b.shutdown()
    }

    @Test("lifecycle: errors before start, after shutdown, twice started, address in use")
    func lifecycle() async throws {
        let address = Addresses.make("tcp")
        let a = try ZeroMQTransport(address: address, options: testOptions())
        await #expect(throws: TransportError.notRunning) { try await a.send([1], to: "tcp://127.0.0.1:1") }
        await #expect(throws: TransportError.notRunning) { try await a.connect(to: "tcp://127.0.0.1:1") }
        try await a.start()
        await #expect(throws: TransportError.alreadyStarted) { try await a.start() }

        let twin = try ZeroMQTransport(address: address, options: testOptions())
        await #expect(throws: TransportError.self) { try await twin.start() }
        await twin.shutdown()

        await a.shutdown()
        await a.shutdown()
        await #expect(throws: TransportError.notRunning) { try await a.send([1], to: "tcp://127.0.0.1:1") }

        // The address is free again.
        let again = try await startedTransport(at: address)
        await again.shutdown()

        // A never-started transport shuts down at once, and its events finish.
        let idle = try ZeroMQTransport(address: Addresses.make("inproc"))
        let events = EventCollector(idle)
        await idle.shutdown()
        try await eventually("idle events finish") { events.isFinished }
    }

    @Test("addresses a node cannot listen on are refused")
    func invalidListenAddresses() throws {
        for text in ["tcp://127.0.0.1", "tcp://*:7001", "tcp://127.0.0.1:0", "loopback://a", "tcp://0.0.0.0:7001"] {
            #expect(throws: TransportError.self, "\(text)") { try ZeroMQTransport(address: TransportAddress(text)) }
        }
    }

    @Test("the factory serves tcp, ipc and inproc through a registry")
    func factory() async throws {
        var registry = TransportRegistry()
        registry.register(ZeroMQTransportFactory())
        #expect(registry.schemes == ["inproc", "ipc", "tcp"])
        let transport = try registry.makeTransport(listeningOn: Addresses.make("inproc"))
        #expect(transport is ZeroMQTransport)
        try await transport.start()
        await transport.shutdown()
    }

    @Test("send timeouts run on the injected clock")
    func injectedClock() async throws {
        let clock = ManualClock()
        let options = TransportOptions(sendTimeout: .seconds(3600), clock: clock)
        let a = try await startedTransport("inproc", options: options)
        let nobody = Addresses.make("inproc")
        let blocked = Task { () -> TransportError? in
            do throws(TransportError) {
                try await a.send([1], to: nobody)
                return nil
            } catch { return error }
        }
        // An hour of manual time passes in an instant once the send's timer is armed.
        try await eventually("the timer to be armed") { clock.sleepers > 0 }
        clock.advance(by: .seconds(3600))
        let error = try await withTimeout("the timed-out send", .seconds(5)) { await blocked.value }
        #expect(error == .peerUnreachable(nobody))
        await a.shutdown()
    }
}

/// A minimal manual clock: `sleep` returns once `advance` has moved time past the deadline.
final class ManualClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct State {
        var now = Instant(offset: .zero)
        var waiting: [(Instant, CheckedContinuation<Void, any Error>)] = []
    }

    private let state = LockedState(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }
    /// How many sleeps are pending.
    var sleepers: Int { state.withLock { $0.waiting.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLock { state -> Bool in
                if deadline <= state.now { return true }
                state.waiting.append((deadline, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.waiting.filter { $0.0 <= now }.map(\.1)
            state.waiting.removeAll { $0.0 <= now }
            return due
        }
        for continuation in due { continuation.resume() }
    }
}
#endif
