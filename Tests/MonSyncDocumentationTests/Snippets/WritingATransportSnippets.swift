public import MonSyncCore
import MonSyncLoopback
import MonSyncMessages
import MonSyncTransportConformance
import Testing

// The code of the article WritingATransport.md in MonSyncCore.docc. The blocks there are copies
// of the marked lines: change both.

/// Frames the snippets' tests send: MonSync's own messages, as any transport carries them.
enum MessageCodecFrames {
    static let codec = MessageCodec.monitor()
    static let heartbeat = codec.encode(MMonSync(op: .heartbeat, session: 1))
    static let finish = codec.encode(MMonSync(op: .finish, session: 1))
}

/// The reader's transport of the article, `mine://`.
///
/// It stands in for a transport of one's own so that the article's factory and conformance code
/// compile and run: it keeps the contract by passing every call to a `LoopbackTransport` on a
/// network of its own (one per process), where a real transport would talk to its wire.
final class MyTransport: MessageTransport {
    private static let network = LoopbackNetwork()
    private let inner: LoopbackTransport
    private let options: TransportOptions

    init(address: TransportAddress, options: TransportOptions) throws(TransportError) {
        guard address.scheme == "mine" else { throw .invalidAddress(address.description, reason: "not a mine:// address") }
        inner = LoopbackTransport(address: address, network: Self.network, options: options)
        self.options = options
    }

    var localAddress: TransportAddress { inner.localAddress }
    var limits: TransportLimits { inner.limits }
    func start() async throws(TransportError) { try await inner.start() }
    func connect(to peer: TransportAddress) async throws(TransportError) { try await inner.connect(to: peer) }
    func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError) { try await inner.send(bytes, to: peer) }
    func shutdown() async { await inner.shutdown() }

    // snippet: transport-events
    public var events: TransportEvents {
        TransportEvents { [self] in await nextEvent() }
    }
    // snippet: end

    /// The next event of the wire, or `nil` once shut down: here, the inner transport's (its
    /// sequence's iterator holds no state of its own, so a fresh one continues where the last left off).
    private func nextEvent() async -> TransportEvent? {
        var iterator = inner.events.makeAsyncIterator()
        return await iterator.next()
    }

    /// The article's bounded wait of a send: a timer on the options' clock ends it at the deadline.
    /// The stand-in's inner transport does its own waiting; this shows where a real one's goes.
    func waitForRoom(to peer: TransportAddress, until room: () async -> Void) async {
        // snippet: send-deadline
        let timebase = Timebase(options.clock)                 // in init
        let deadline = timebase.now + options.sendTimeout      // when a send starts waiting
        let timer = Task { [self] in                           // ends the wait at the deadline
            try await timebase.sleep(until: deadline)          // cancelled if the send finishes first
            timeOutWaiters(for: peer)
        }
        defer { timer.cancel() }
        // snippet: end
        await room()
    }

    /// The peers whose waiting sends timed out.
    let timedOutPeers = LockedState<[TransportAddress]>([])
    private func timeOutWaiters(for peer: TransportAddress) { timedOutPeers.withLock { $0.append(peer) } }
}

// snippet: transport-factory
public struct MyTransportFactory: TransportFactory {
    public let schemes: Set<String> = ["mine"]
    public init() {}
    public func makeTransport(listeningOn address: TransportAddress,
                              options: TransportOptions) throws(TransportError) -> any MessageTransport {
        try MyTransport(address: address, options: options)
    }
}
// snippet: end

/// The article: a byte stream cut back into frames.
func deliverFrames(of bytesJustRead: [UInt8], options: TransportOptions, deliver: ([UInt8]) -> Void) throws {
    // snippet: frame-stream-decoder
    var decoder = FrameStreamDecoder(maximumPayloadSize: options.maximumMessageSize - Frame.overhead)
    for frame in try decoder.feed(bytesJustRead) { deliver(frame) }   // throws on a corrupt stream
    // snippet: end
}

/// The article: the codec verifier on MonSync's own messages.
func verifyCodec() throws {
    // snippet: codec-verifier
    let codec = MessageCodec.monitor()
    let messages: [any WireMessage] = [MMonSync(op: .heartbeat, session: 1), MMonSync(op: .finish, session: 1)]
    let frames = messages.map { codec.encode(any: $0) }
    try CodecVerifier(seed: 42, randomRuns: 16).verify(frames: frames)
    try CodecVerifier().verifyRoundTrip(messages, codec: codec)
    // snippet: end
}

@Suite("Documentation: writing a transport")
struct WritingATransportSnippetTests {
    @Test("the factory makes mine:// transports that exchange frames through their events")
    func factoryAndEvents() async throws {
        let factory = MyTransportFactory()
        let a = try factory.makeTransport(listeningOn: "mine://doc-a", options: TransportOptions())
        let b = try factory.makeTransport(listeningOn: "mine://doc-b", options: TransportOptions())
        try await a.start()
        try await b.start()
        try await a.send(MessageCodecFrames.heartbeat, to: b.localAddress)
        var events = b.events.makeAsyncIterator()
        guard case let .message(message)? = await events.next() else {
            Issue.record("no message arrived")
            return
        }
        #expect(message.sender == a.localAddress && message.bytes == MessageCodecFrames.heartbeat)
        await a.shutdown()
        await b.shutdown()
        #expect(throws: TransportError.self) { _ = try factory.makeTransport(listeningOn: "loopback://x", options: TransportOptions()) }
    }

    @Test("a send's wait ends at the deadline on the options' clock")
    func sendDeadline() async throws {
        let transport = try MyTransport(address: "mine://doc-deadline", options: TransportOptions(sendTimeout: .milliseconds(10)))
        // Room never comes: the wait lasts until the timer has ended it (bounded generously — on a
        // loaded machine a 10 ms timer's task once waited more than a second for a thread).
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(60)
        await transport.waitForRoom(to: "mine://nobody") {
            while transport.timedOutPeers.withLock({ $0.isEmpty }) && clock.now < giveUp {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(transport.timedOutPeers.withLock { $0 } == ["mine://nobody"])
    }

    @Test("a stream of two frames, read at once, is delivered as the two frames")
    func frameStreamDecoder() throws {
        var delivered: [[UInt8]] = []
        try deliverFrames(of: MessageCodecFrames.heartbeat + MessageCodecFrames.finish, options: TransportOptions()) {
            delivered.append($0)
        }
        #expect(delivered == [MessageCodecFrames.heartbeat, MessageCodecFrames.finish])
    }

    @Test("the codec verifier passes MonSync's messages")
    func codecVerifier() {
        #expect(throws: Never.self) { try verifyCodec() }
    }
}
