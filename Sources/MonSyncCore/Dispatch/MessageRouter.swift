/// The key a handler is registered under: a message type and, optionally, a sub-route (a message's op, as MMonSync's).
public struct MessageRoute: Hashable, Sendable, CustomStringConvertible {
    /// The type of message the route serves.
    public var messageType: MessageType
    /// `nil` registers for every message of the type that has no more specific handler.
    public var routingKey: UInt32?

    /// A route for messages of `messageType`, and of its op `routingKey` when one is given.
    public init(messageType: MessageType, routingKey: UInt32? = nil) {
        self.messageType = messageType
        self.routingKey = routingKey
    }

    public var description: String {
        routingKey.map { "\(messageType.rawValue)/\($0)" } ?? "\(messageType.rawValue)/*"
    }
}

/// A change in a peer's reachability, as handlers see it.
public enum PeerEvent: Sendable, Hashable {
    /// The transport can reach the peer at this address (it connected, or reconnected after a loss).
    case up(TransportAddress)
    /// The transport lost the peer at this address; it is reported after the last message that peer delivered.
    case down(TransportAddress)
}

/// The router table: which handler serves which message type and op.
///
/// Like grpc-swift's `RPCRouter`, it is built before the dispatcher runs; role
/// handlers register the routes they serve. A message with no route is counted
/// and dropped by the ``Dispatcher``.
///
/// ```swift
/// var router = MessageRouter()
/// router.register(.startChunks) { message, context in try await provider.handleStartChunks(message, context) }
/// router.onPeerEvent { event, dispatcher in await requester.peerChanged(event) }
/// ```
public struct MessageRouter: Sendable {
    /// A type-erased handler.
    public typealias Handler = @Sendable (any WireMessage, MessageContext) async throws -> Void
    /// A peer event handler.
    public typealias PeerEventHandler = @Sendable (PeerEvent, Dispatcher) async -> Void

    private var handlers: [MessageRoute: Handler] = [:]
    private(set) var peerEventHandlers: [PeerEventHandler] = []

    /// An empty table: register the handlers before handing it to a ``Dispatcher``.
    public init() {}

    /// Registers `handler` for messages of type `M` whose ``WireMessage/routingKey`` is `routingKey`
    /// (or for every message of the type without a more specific route, when `routingKey` is `nil`).
    /// A later registration for the same route replaces the earlier one.
    public mutating func register<M: WireMessage>(
        _ type: M.Type, routingKey: UInt32? = nil,
        _ handler: @escaping @Sendable (M, MessageContext) async throws -> Void
    ) {
        handlers[MessageRoute(messageType: M.messageType, routingKey: routingKey)] = { message, context in
            // The route key includes the message type, so the cast cannot fail for a well-behaved codec.
            guard let typed = message as? M else { throw DispatchError.typeMismatch(expected: M.name) }
            try await handler(typed, context)
        }
    }

    /// Adds a handler for peer up/down events; every registered one is called, in order.
    public mutating func onPeerEvent(_ handler: @escaping PeerEventHandler) {
        peerEventHandlers.append(handler)
    }

    /// The routes that have handlers.
    public var routes: [MessageRoute] { Array(handlers.keys) }

    /// The handler for `message`: its exact route first, then its type's catch-all.
    public func handler(for message: any WireMessage) -> Handler? {
        let type = Swift.type(of: message).messageType
        if let key = message.routingKey, let handler = handlers[MessageRoute(messageType: type, routingKey: key)] {
            return handler
        }
        return handlers[MessageRoute(messageType: type, routingKey: nil)]
    }
}

/// Errors of the dispatch layer.
public enum DispatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A handler received a message of a type it was not registered for (a codec/router mismatch).
    case typeMismatch(expected: String)
    /// The message would be refused by its receiver (e.g. a flag the op does not allow).
    case invalidMessage(DecodeError)
    /// The transport refused or failed the send.
    case transport(TransportError)

    public var description: String {
        switch self {
        case let .typeMismatch(expected): "handler expected a \(expected) message"
        case let .invalidMessage(error): "refusing to send an invalid message: \(error)"
        case let .transport(error): "\(error)"
        }
    }
}
