/// What a transport delivers to its owner, in order: messages and peer up/down events.
///
/// One sequence carries both, so a `peerDown` is seen after the last message
/// that peer delivered before it went down.
public enum TransportEvent: Sendable {
    /// One complete frame's bytes from `sender`.
    case message(InboundMessage)
    /// A connection to `peer` is established (or re-established after a restart).
    case peerUp(TransportAddress)
    /// The connection to `peer` is lost; sends may fail or wait until it is back.
    case peerDown(TransportAddress)
}

/// Bytes received from a peer.
public struct InboundMessage: Sendable {
    /// The address of the endpoint that sent the bytes: reply by sending to it.
    public var sender: TransportAddress
    /// Exactly the bytes the sender passed to ``MessageTransport/send(_:to:)``.
    public var bytes: [UInt8]
    /// Who the transport authenticated the sender as; `nil` when it authenticates nobody.
    public var peer: PeerIdentity?

    /// A message of `bytes` from `sender`, with the identity the transport authenticated, if any.
    public init(sender: TransportAddress, bytes: [UInt8], peer: PeerIdentity? = nil) {
        self.sender = sender
        self.bytes = bytes
        self.peer = peer
    }
}

/// The inbound side of a transport: an async sequence of ``TransportEvent``s for one consumer.
///
/// A transport builds it from a function that waits for the next event and
/// returns `nil` once the transport has shut down and everything was delivered.
/// Pulling is what makes room in the transport's bounded queues, so a slow
/// consumer pushes back on senders instead of growing memory.
public struct TransportEvents: AsyncSequence, Sendable {
    public typealias Element = TransportEvent
    public typealias Failure = Never

    private let next: @Sendable () async -> TransportEvent?

    /// Creates the sequence from the transport's `next` function.
    public init(next: @escaping @Sendable () async -> TransportEvent?) { self.next = next }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let next: @Sendable () async -> TransportEvent?
        public mutating func next() async -> TransportEvent? { await next() }
        public mutating func next(isolation actor: isolated (any Actor)?) async -> TransportEvent? { await next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(next: next) }
}
