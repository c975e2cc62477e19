/// What a handler gets beside the message: who sent it, and a way to answer.
public struct MessageContext: Sendable {
    /// The transport address of the sender; replies go there.
    public let sender: TransportAddress
    /// The dispatcher that delivered the message.
    public let dispatcher: Dispatcher
    /// Who the transport authenticated the sender as (``InboundMessage/peer``); `nil` when the
    /// transport authenticates nobody.
    public let peer: PeerIdentity?

    /// A context for a message from `sender`, delivered by `dispatcher`.
    ///
    /// The ``Dispatcher`` makes one per message; build your own only to call a handler directly, in a test.
    public init(sender: TransportAddress, dispatcher: Dispatcher, peer: PeerIdentity? = nil) {
        self.sender = sender
        self.dispatcher = dispatcher
        self.peer = peer
    }

    /// Encodes `message` and sends it to the sender.
    public func reply<M: WireMessage>(_ message: M) async throws(DispatchError) {
        try await dispatcher.send(message, to: sender)
    }
}
