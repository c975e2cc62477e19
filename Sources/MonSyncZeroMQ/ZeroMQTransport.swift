#if ZeroMQ
public import Logging
public import MonSyncCore
import Synchronization

/// A `MessageTransport` over ZeroMQ: one ROUTER listens on the node's address, one DEALER reaches each peer.
///
/// ## Identity
/// Every message a DEALER sends is `[own address, body]`; the peer's ROUTER adds the id of the
/// connection (its own, never shared), reads the sender's address from the first part, and that
/// becomes `InboundMessage.sender`. (A peer that names itself by its `ZMQ_ROUTING_ID` and sends
/// `[body]` is read the same way.) A reply goes back through the replier's own DEALER to the
/// sender's ROUTER, never through the ROUTER it arrived on. Each pair of nodes thus uses one
/// connection per direction, and messages from one node to another keep their order. With CURVE
/// (``ZeroMQConfiguration/security``) the address is checked against the connection's key.
///
/// ## Threads
/// One dedicated thread per transport owns every socket and blocks in
/// `zmq_poll`; nothing else touches a socket and no Swift task ever blocks.
/// Callers hand it commands through a locked queue and wake it with an
/// eventfd polled beside the sockets; inbound messages and peer events reach
/// ``events`` through a bounded queue.
///
/// ## Waiting and errors
/// A `send` returns once libzmq has taken the message for a connected peer.
/// If the peer is not connected (ZeroMQ keeps trying in the background) or its
/// queue is at the high-water mark, the send waits, up to
/// `TransportOptions.sendTimeout` on `TransportOptions.clock`, and then throws
/// `TransportError.peerUnreachable(_:)` (peer not up) or
/// `TransportError.sendTimedOut(_:after:)` (peer up, queue full).
///
/// ``post(_:to:completion:)`` is the same path without the wait: a batch of messages crosses
/// to the I/O thread as one command, and its completion runs there once libzmq has taken them
/// all (or at the first that fails). Every `send` and `post` to one peer is queued in the order
/// of the calls. The bounded queue in front of libzmq's pipe
/// (`TransportOptions.queueCapacity` messages per peer) takes a batch whole while it is empty,
/// and otherwise only a batch that fits: one that does not fails at once with `sendTimedOut`.
///
/// ## Addresses
/// `tcp://host:port` (a numeric port, no wildcard: the address is also the
/// node's identity), `ipc:///path`, and `inproc://name` (only between
/// transports of the same ``ZeroMQContext``).
public final class ZeroMQTransport: MessageTransport {
    /// The URL schemes this transport serves.
    public static let schemes: Set<String> = ["tcp", "ipc", "inproc"]

    /// The address the ROUTER binds, and this node's routing id towards its peers.
    public let localAddress: TransportAddress
    /// The limits: messages up to `TransportOptions.maximumMessageSize` bytes, inbound and outbound.
    public let limits: TransportLimits
    /// The ZeroMQ-specific settings.
    public let configuration: ZeroMQConfiguration
    /// The context whose libzmq context this transport's sockets live in.
    public let context: ZeroMQContext

    private let options: TransportOptions
    private let timebase: Timebase
    private let logger: Logger
    private let mailbox = Mailbox()
    private let eventQueue: EventQueue
    private let counters = StatisticsBox()
    private let finished = Completion()
    private let nextSendID = Atomic<UInt64>(0)

    private enum Phase { case idle, starting, running, stopped }
    private let phase = LockedState(Phase.idle)

    /// Creates a transport that will listen on `address` once started.
    ///
    /// - Parameters:
    ///   - address: a `tcp://host:port`, `ipc:///path` or `inproc://name` address.
    ///   - options: size limit, send timeout, queue capacity (the high-water marks) and clock.
    ///   - configuration: ZeroMQ-specific settings.
    ///   - context: the context to share; ``ZeroMQContext/shared`` by default.
    ///   - logger: where dropped input, peer events and failures are logged.
    /// - Throws: `TransportError.invalidAddress(_:reason:)` for an address this transport cannot
    ///   listen on, or a ``ZeroMQConfiguration/bindAddress`` of another scheme.
    public init(address: TransportAddress, options: TransportOptions = TransportOptions(),
                configuration: ZeroMQConfiguration = ZeroMQConfiguration(), context: ZeroMQContext = .shared,
                logger: Logger = Logger(label: "monsync.zeromq")) throws(TransportError) {
        try Self.validateListenAddress(address)
        if let bind = configuration.bindAddress {
            try Self.validatePeer(bind)
            guard bind.scheme == address.scheme else {
                throw .invalidAddress(bind.description, reason: "the bind address must have the scheme of \(address) (\(address.scheme)://)")
            }
        }
        localAddress = address
        limits = TransportLimits(maximumMessageSize: options.maximumMessageSize)
        self.configuration = configuration
        self.context = context
        self.options = options
        timebase = Timebase(options.clock)
        var logger = logger
        logger[metadataKey: "node"] = "\(address)"
        self.logger = logger
        eventQueue = EventQueue(capacity: options.queueCapacity, byteCapacity: configuration.eventQueueByteCapacity,
                                mailbox: mailbox)
    }

    /// Stops the I/O thread if ``shutdown()`` was never called. It closes the sockets and
    /// terminates the context on that thread, never here.
    deinit { _ = mailbox.post(.shutdown) }

    /// What the transport has sent, received and dropped so far.
    public var statistics: Statistics { counters.snapshot }

    /// Binds the ROUTER on ``localAddress`` and starts the I/O thread.
    ///
    /// - Throws: `TransportError.alreadyStarted` on a second call,
    ///   `TransportError.bindFailed(_:reason:)` when the address is in use or not bindable,
    ///   `TransportError.underlying(_:)` when libzmq or the system fails.
    public func start() async throws(TransportError) {
        try phase.withLock { phase throws(TransportError) in
            guard phase == .idle else { throw .alreadyStarted }
            phase = .starting
        }
        let result = await launch()
        let stopped = phase.withLock { phase -> Bool in
            if case .success = result, phase == .starting {
                phase = .running
                return false
            }
            phase = .stopped
            return true
        }
        if case let .failure(error) = result {
            eventQueue.close()
            throw error
        }
        if stopped {
            // shutdown() ran while we were starting, perhaps before the mailbox was open:
            // ask again, since it is waiting for the thread to exit.
            _ = mailbox.post(.shutdown)
            eventQueue.close()
            throw .notRunning
        }
    }

    private func launch() async -> Result<Void, TransportError> {
        let wakeFD: Int32
        let lease: ZeroMQContext.Lease
        do throws(TransportError) {
            wakeFD = try mailbox.open()
            lease = try context.join(mailbox)
        } catch {
            _ = mailbox.close()
            finished.signal()
            return .failure(error)
        }
        return await withCheckedContinuation { continuation in
            let loop = IOLoop(address: localAddress, options: options, configuration: configuration, timebase: timebase,
                              context: context, lease: lease, mailbox: mailbox, wakeFD: wakeFD, events: eventQueue,
                              statistics: counters, logger: logger, started: continuation, finished: finished)
            if let error = IOLoop.spawn(loop) {
                _ = mailbox.close()
                context.leave(lease)
                finished.signal()
                continuation.resume(returning: .failure(error))
            }
        }
    }

    /// Opens the DEALER to `peer` now, so that `TransportEvent.peerUp(_:)` can arrive before the first send.
    ///
    /// Returns at once; the connection is made (and remade after failures) in the background.
    /// - Throws: `TransportError.notRunning` unless started, `TransportError.invalidAddress(_:reason:)`
    ///   for an address of another scheme.
    public func connect(to peer: TransportAddress) async throws(TransportError) {
        try Self.validatePeer(peer)
        guard phase.withLock({ $0 == .running }), mailbox.post(.connect(peer)) else { throw .notRunning }
    }

    /// Sends `bytes` as one message to `peer`; see the type's discussion for waiting and errors.
    ///
    /// - Throws: `TransportError.messageTooLarge(size:limit:)` before anything is sent,
    ///   `TransportError.invalidAddress(_:reason:)` for another scheme or a malformed endpoint,
    ///   `TransportError.peerUnreachable(_:)`, `TransportError.sendTimedOut(_:after:)`,
    ///   or `TransportError.notRunning` (not started, shut down, or the sending task was cancelled).
    public func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError) {
        guard bytes.count <= limits.maximumMessageSize else {
            throw .messageTooLarge(size: bytes.count, limit: limits.maximumMessageSize)
        }
        try Self.validatePeer(peer)
        guard phase.withLock({ $0 == .running }) else { throw .notRunning }
        let id = nextSendID.add(1, ordering: .relaxed).newValue
        let deadline = timebase.now + options.sendTimeout
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<TransportBatchResult, Never>) in
                let request = SendRequest(id: id, peer: peer, messages: [bytes], deadline: deadline) { continuation.resume(returning: $0) }
                if !mailbox.post(.send(request)) { request.complete(sent: 0, .notRunning) }
            }
        } onCancel: {
            _ = mailbox.post(.cancel(id: id))
        }
        if let failure = result.failure { throw failure }
    }

    /// Hands `messages` to the I/O thread for `peer` in one command, without waiting; see
    /// `MessageTransport.post(_:to:completion:)`.
    ///
    /// One wake-up of the I/O thread sends the whole batch (and whatever else was posted
    /// meanwhile), so small messages do not each cost a round trip to it. Posts are queued in the
    /// order of the calls, so batches to one peer keep the order they were posted in, whether
    /// or not the earlier one has completed. The batch waits as a `send` does, up to
    /// `TransportOptions.sendTimeout`, for a peer that is not up or whose queue is full;
    /// `completion` runs on the I/O thread (or at once, here, when the batch is refused).
    public func post(_ messages: [[UInt8]], to peer: TransportAddress,
                     completion: @escaping @Sendable (TransportBatchResult) -> Void) {
        if let large = messages.first(where: { $0.count > limits.maximumMessageSize }) {
            return completion(TransportBatchResult(sent: 0, failure: .messageTooLarge(size: large.count, limit: limits.maximumMessageSize)))
        }
        do throws(TransportError) { try Self.validatePeer(peer) } catch {
            return completion(TransportBatchResult(sent: 0, failure: error))
        }
        guard phase.withLock({ $0 == .running }) else { return completion(TransportBatchResult(sent: 0, failure: .notRunning)) }
        let request = SendRequest(id: nextSendID.add(1, ordering: .relaxed).newValue, peer: peer, messages: messages,
                                  deadline: timebase.now + options.sendTimeout, completion: completion)
        if !mailbox.post(.send(request)) { request.complete(sent: 0, .notRunning) }
    }

    /// Inbound messages and peer up/down events, for one consumer.
    ///
    /// Peer events are reported for peers this transport has connected to (by
    /// ``connect(to:)`` or a send). The sequence finishes at ``shutdown()``, and
    /// ends early for a consumer whose task is cancelled.
    public var events: TransportEvents {
        TransportEvents { [eventQueue] in await eventQueue.next() }
    }

    /// Stops the transport: fails waiting sends with `TransportError.notRunning`, finishes ``events``,
    /// closes every socket on the I/O thread and releases the context.
    ///
    /// Idempotent; returns once the I/O thread has exited, which takes at most about
    /// ``ZeroMQConfiguration/linger`` (the time libzmq may spend flushing messages already sent).
    public func shutdown() async {
        let previous = phase.withLock { phase -> Phase in
            defer { phase = .stopped }
            return phase
        }
        eventQueue.close()
        switch previous {
        case .idle:
            return
        case .starting, .running:
            _ = mailbox.post(.shutdown)
            await finished.wait()
        case .stopped:
            await finished.wait()
        }
    }

    // MARK: - Address checks

    private static func validatePeer(_ peer: TransportAddress) throws(TransportError) {
        guard schemes.contains(peer.scheme) else {
            throw .invalidAddress(peer.description, reason: "the ZeroMQ transport reaches only tcp://, ipc:// and inproc:// addresses")
        }
    }

    private static func validateListenAddress(_ address: TransportAddress) throws(TransportError) {
        try validatePeer(address)
        guard address.scheme == "tcp" else { return }
        // The address is the node's identity, so it must be one that peers can dial back.
        guard let colon = address.location.lastIndex(of: ":"),
              let port = Int(address.location[address.location.index(after: colon)...]), (1...65535).contains(port) else {
            throw .invalidAddress(address.description, reason: "a tcp address needs an explicit port 1-65535")
        }
        let host = address.location[..<colon]
        guard !host.isEmpty, host != "*", host != "0.0.0.0", host != "[::]" else {
            throw .invalidAddress(address.description, reason: "the host must be one that peers can connect to, not a wildcard")
        }
    }
}
#endif
