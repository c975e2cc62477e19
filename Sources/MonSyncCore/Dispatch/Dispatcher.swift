public import Logging
import Metrics

/// Connects a transport to the role handlers: decodes what arrives, routes it, and encodes what handlers send.
///
/// The dispatcher takes `(sender, bytes)` from any ``MessageTransport``, decodes
/// it with the ``MessageCodec``, and calls the handler the ``MessageRouter`` has
/// for the message's type and routing key. Malformed or unroutable input is
/// counted, logged with its sender and dropped; it never stops the node.
///
/// ## Threading
/// ``run()`` handles inbound messages one at a time, in arrival order, like a
/// monitor's dispatch lock: a handler sees the effects of every earlier one.
/// Handlers should hand long work to their own tasks. ``send(_:to:)`` may be
/// called from any task.
public final class Dispatcher: Sendable {
    /// The transport this dispatcher reads from and writes to.
    public let transport: any MessageTransport
    /// The codec shared with every peer.
    public let codec: MessageCodec
    /// Counters of what arrived, was handled, or was dropped.
    public let statistics = DispatchStatistics()

    private let router: LockedState<MessageRouter>
    private let logger: Logger
    private let droppedCounters: LockedState<[String: Counter]> = LockedState([:])
    /// Refused input and failed handlers are counted in full but logged once per sender per interval.
    private let refusalLog = LockedState(LogThrottle())
    private let receivedCounter: Counter
    private let sentCounter: Counter
    private let receivedBytes: Counter
    private let sentBytes: Counter
    private let sendFailures: Counter
    private let peersUpGauge: Gauge
    /// The peers whose connection is up (the transport's peerUp without a later peerDown).
    private let peersUp = LockedState<Set<TransportAddress>>([])

    /// Creates a dispatcher. Register handlers on `router` before calling ``run()``, or later with ``register(_:)``.
    public init(transport: any MessageTransport, codec: MessageCodec = MessageCodec(),
                router: MessageRouter = MessageRouter(), logger: Logger = Logger(label: "monsync.dispatch")) {
        self.transport = transport
        self.codec = codec
        self.router = LockedState(router)
        var logger = logger
        logger[metadataKey: "node"] = "\(transport.localAddress)"
        self.logger = logger
        let dimensions = [("node", transport.localAddress.description)]
        receivedCounter = Counter(label: "monsync_dispatch_received_total", dimensions: dimensions)
        sentCounter = Counter(label: "monsync_dispatch_sent_total", dimensions: dimensions)
        receivedBytes = Counter(label: "monsync_dispatch_received_bytes_total", dimensions: dimensions)
        sentBytes = Counter(label: "monsync_dispatch_sent_bytes_total", dimensions: dimensions)
        sendFailures = Counter(label: "monsync_dispatch_send_failures_total", dimensions: dimensions)
        peersUpGauge = Gauge(label: "monsync_transport_peers_up", dimensions: dimensions)
        peersUpGauge.record(0)
    }

    /// The peers whose connection is up now, as the transport reported them.
    public var connectedPeers: Set<TransportAddress> { peersUp.withLock { $0 } }

    /// Changes the router table (for roles that are created after the dispatcher).
    public func register(_ body: (inout MessageRouter) -> Void) {
        router.withLock { body(&$0) }
    }

    /// Consumes the transport's events until it shuts down, dispatching each one.
    ///
    /// Returns when the transport's ``MessageTransport/events`` finishes.
    public func run() async {
        for await event in transport.events {
            switch event {
            case let .message(inbound):
                await dispatch(inbound)
            case let .peerUp(peer):
                await deliver(.up(peer))
            case let .peerDown(peer):
                await deliver(.down(peer))
            }
        }
    }

    /// Decodes and routes one inbound message. Exposed so stream-based code can feed the dispatcher directly.
    public func dispatch(_ inbound: InboundMessage) async {
        statistics.update { $0.received += 1 }
        receivedCounter.increment()
        receivedBytes.increment(by: inbound.bytes.count)
        let message: any WireMessage
        do {
            message = try codec.decode(inbound.bytes)
        } catch {
            drop(reason: error.kind, sender: inbound.sender, size: inbound.bytes.count, detail: "\(error)")
            statistics.update { $0.malformed[error.kind, default: 0] += 1 }
            return
        }
        guard let handler = router.withLock({ $0.handler(for: message) }) else {
            drop(reason: "unroutable", sender: inbound.sender, size: inbound.bytes.count,
                 detail: "no handler for \(type(of: message).name) route \(message.routingKey.map(String.init) ?? "*")")
            statistics.update { $0.unroutable += 1 }
            return
        }
        do {
            try await handler(message, MessageContext(sender: inbound.sender, dispatcher: self, peer: inbound.peer))
            statistics.update { $0.handled += 1 }
        } catch {
            statistics.update { $0.handlerFailures += 1 }
            refusalLog.withLock {
                $0.log(logger, .warning, "handler failed", key: "handler \(inbound.sender)", now: MonotonicUptime.now, metadata: [
                    "sender": "\(inbound.sender)", "message": "\(message)", "error": "\(error)",
                ])
            }
        }
    }

    private func deliver(_ event: PeerEvent) async {
        statistics.update { $0.peerEvents += 1 }
        let up = peersUp.withLock { peers in
            switch event {
            case let .up(peer): peers.insert(peer)
            case let .down(peer): peers.remove(peer)
            }
            return peers.count
        }
        peersUpGauge.record(up)
        logger.debug("peer event", metadata: ["event": "\(event)"])
        let handlers = router.withLock { $0.peerEventHandlers }
        for handler in handlers { await handler(event, self) }
    }

    private func drop(reason: String, sender: TransportAddress, size: Int, detail: String) {
        refusalLog.withLock {
            $0.log(logger, .warning, "dropped inbound message", key: "drop \(sender)", now: MonotonicUptime.now, metadata: [
                "sender": "\(sender)", "reason": "\(reason)", "bytes": "\(size)", "detail": "\(detail)",
            ])
        }
        let counter = droppedCounters.withLock { counters in
            if let counter = counters[reason] { return counter }
            let counter = Counter(label: "monsync_dispatch_dropped_total",
                                  dimensions: [("node", transport.localAddress.description), ("reason", reason)])
            counters[reason] = counter
            return counter
        }
        counter.increment()
    }

    /// Validates and encodes `message`, as ``send(_:to:)`` does before sending, for ``post(_:to:completion:)``.
    ///
    /// - Throws: ``DispatchError/invalidMessage(_:)`` for a message its receiver would refuse.
    public func encode<M: WireMessage>(_ message: M) throws(DispatchError) -> [UInt8] {
        do { try message.validate() } catch { throw .invalidMessage(error) }
        return codec.encode(message)
    }

    /// Hands already encoded messages (from ``encode(_:)``) to the transport for `peer`, in order,
    /// without waiting: ``MessageTransport/post(_:to:completion:)``, with the dispatcher's counters.
    ///
    /// `completion` runs exactly once, perhaps on a transport's thread: keep it short.
    public func post(_ messages: [[UInt8]], to peer: TransportAddress,
                     completion: @escaping @Sendable (TransportBatchResult) -> Void) {
        transport.post(messages, to: peer) { [self] result in
            if result.sent > 0 {
                statistics.update { $0.sent += result.sent }
                sentCounter.increment(by: result.sent)
                var bytes = 0
                for message in messages.prefix(result.sent) { bytes += message.count }
                sentBytes.increment(by: bytes)
            }
            let failed = messages.count - result.sent
            if failed > 0 {
                statistics.update { $0.sendFailures += failed }
                sendFailures.increment(by: failed)
            }
            completion(result)
        }
    }

    /// Validates, encodes and sends `message` to `peer`.
    ///
    /// - Throws: ``DispatchError/invalidMessage(_:)`` for a message its receiver would refuse,
    ///   ``DispatchError/transport(_:)`` when the transport cannot deliver it.
    public func send<M: WireMessage>(_ message: M, to peer: TransportAddress) async throws(DispatchError) {
        do { try message.validate() } catch { throw .invalidMessage(error) }
        let bytes = codec.encode(message)
        do {
            try await transport.send(bytes, to: peer)
        } catch {
            statistics.update { $0.sendFailures += 1 }
            sendFailures.increment()
            throw .transport(error)
        }
        statistics.update { $0.sent += 1 }
        sentCounter.increment()
        sentBytes.increment(by: bytes.count)
    }
}
