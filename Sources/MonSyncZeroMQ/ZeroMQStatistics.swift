#if ZeroMQ
import MonSyncCore

extension ZeroMQTransport {
    /// Counts of what a ``ZeroMQTransport`` sent, received, and refused.
    ///
    /// Every dropped inbound message is also logged with its sender (or, for a
    /// connection libzmq closed, the remote endpoint). Malformed MonSync frames
    /// are not counted here: the transport carries bytes, and the `Dispatcher`
    /// counts what does not decode.
    public struct Statistics: Sendable, Hashable {
        /// Messages handed to libzmq for sending.
        public var messagesSent = 0
        /// Bytes of the messages handed to libzmq.
        public var bytesSent = 0
        /// Messages delivered to the ``ZeroMQTransport/events`` consumer's queue.
        public var messagesReceived = 0
        /// Bytes of the delivered messages.
        public var bytesReceived = 0
        /// Inbound messages dropped because they were not exactly `[routing id, body]`.
        public var droppedWrongFrameCount = 0
        /// Inbound messages dropped because the routing id was not a `tcp`, `ipc` or `inproc` address.
        public var droppedInvalidSender = 0
        /// Inbound messages dropped because the body exceeded the size limit.
        ///
        /// libzmq's `ZMQ_MAXMSGSIZE` normally closes the connection of such a sender
        /// before the frame is read; see ``inboundDisconnects``.
        public var droppedOversize = 0
        /// Messages a peer's ROUTER sent back on one of our outbound DEALER connections, which carry no inbound traffic.
        public var droppedUnexpected = 0
        /// With CURVE: messages dropped because their claimed sender address belongs to another key
        /// (someone with a valid key speaking as a monitor it is not).
        public var droppedImpersonation = 0
        /// With CURVE: handshakes refused because the client's key is not admitted (the connection
        /// never carries a message).
        public var keysRefused = 0
        /// With CURVE: sends that failed because no key is known for the destination (a monitor
        /// missing from the keyring, or an address that never sent us an authenticated message).
        public var sendsWithoutKey = 0
        /// Inbound connections accepted by the listening ROUTER.
        public var inboundConnections = 0
        /// Inbound connections that ended: the peer left, its heartbeats stopped, or libzmq closed it
        /// for a protocol error such as a frame larger than `ZMQ_MAXMSGSIZE`.
        public var inboundDisconnects = 0
        /// Inbound connections whose ZMTP handshake failed (not a ZeroMQ peer, or a broken one).
        public var inboundHandshakeFailures = 0
        /// Sends that failed with `TransportError.sendTimedOut(_:after:)` (peer up, queue full).
        public var sendsTimedOut = 0
        /// Sends that failed with `TransportError.peerUnreachable(_:)` (peer never came up, or down).
        public var sendsUnreachable = 0
        /// `peerUp` events reported.
        public var peerUps = 0
        /// `peerDown` events reported.
        public var peerDowns = 0
        /// Outbound DEALER connections currently open (one per peer this node sends to).
        ///
        /// A connection that only sends opened (a reply to a client, say) is closed once its
        /// peer is down and nothing waits on it, so clients that come and go, and made-up sender
        /// addresses, cannot pile up connections.
        public var outboundLinks = 0
        /// Outbound connections closed that way.
        public var linksClosed = 0

        /// Every inbound message the transport dropped itself.
        public var dropped: Int { droppedWrongFrameCount + droppedInvalidSender + droppedOversize + droppedUnexpected + droppedImpersonation }

        /// All counters at zero.
        public init() {}
    }
}

/// The transport's counters, written by the I/O thread and read by anyone.
final class StatisticsBox: Sendable {
    private let state = LockedState(ZeroMQTransport.Statistics())

    var snapshot: ZeroMQTransport.Statistics { state.withLock { $0 } }

    func update(_ body: (inout ZeroMQTransport.Statistics) -> Void) { state.withLock { body(&$0) } }
}

/// A one-shot signal that any number of tasks can await (the I/O thread has exited).
final class Completion: Sendable {
    private let state = LockedState<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Marks the completion done and resumes every waiter.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until ``signal()`` has been called.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}
#endif
