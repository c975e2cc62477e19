#if ZeroMQ
public import MonSyncCore
/// ZeroMQ-specific settings of a ``ZeroMQTransport``, beside the shared `TransportOptions`.
///
/// The defaults suit a monitor cluster on a LAN: a small linger so that shutdown
/// is quick but still flushes what was just sent, fast reconnects, and
/// heartbeats that notice a silently dead peer within a few seconds.
public struct ZeroMQConfiguration: Sendable, Hashable {
    /// How long closing a socket may wait to flush messages already handed to libzmq (`ZMQ_LINGER`).
    ///
    /// Bounds how long ``ZeroMQTransport/shutdown()`` can take. Zero discards unsent messages at once.
    public var linger: Duration
    /// The first delay before reconnecting to a peer that went away (`ZMQ_RECONNECT_IVL`).
    public var reconnectInterval: Duration
    /// The longest delay between reconnection attempts, reached by doubling (`ZMQ_RECONNECT_IVL_MAX`).
    public var reconnectIntervalMax: Duration
    /// How often a ZMTP PING is sent on an idle connection (`ZMQ_HEARTBEAT_IVL`); `nil` disables heartbeats.
    public var heartbeatInterval: Duration?
    /// How long without traffic before a connection is declared dead (`ZMQ_HEARTBEAT_TIMEOUT`,
    /// also sent to the peer as `ZMQ_HEARTBEAT_TTL`). A dead connection is reported as
    /// `TransportEvent.peerDown(_:)` and reconnected.
    public var heartbeatTimeout: Duration
    /// The most bytes of inbound messages queued for the ``ZeroMQTransport/events`` consumer
    /// before the transport stops reading and lets ZeroMQ's high-water marks push back on senders.
    ///
    /// One message is always accepted into an empty queue, so a message larger than this still passes.
    public var eventQueueByteCapacity: Int
    /// Messages of at least this many bytes are handed to libzmq without copying (`zmq_msg_init_data`);
    /// smaller ones are copied, which is as fast below about 1 KiB.
    public var zeroCopyThreshold: Int
    /// CURVE authentication and encryption; `nil` runs in plaintext, admitting anyone who connects.
    public var security: ZeroMQSecurity?
    /// Where the ROUTER listens when that is not the address peers dial (Ceph's `public_bind_addr`):
    /// behind a NAT, a container's port mapping or a proxy, peers reach the transport at its
    /// ``ZeroMQTransport/localAddress`` (its identity, the monmap's address), and something forwards
    /// that to this one. `nil`: listen on the identity itself. Meant for a factory that makes one
    /// transport (a node's); two transports cannot listen on one address.
    public var bindAddress: TransportAddress?

    /// Creates a configuration; every parameter has a default suited to a LAN cluster.
    ///
    /// - Parameters:
    ///   - linger: see ``linger``; 200 ms by default.
    ///   - reconnectInterval: see ``reconnectInterval``; 100 ms by default.
    ///   - reconnectIntervalMax: see ``reconnectIntervalMax``; 1 s by default.
    ///   - heartbeatInterval: see ``heartbeatInterval``; 1 s by default.
    ///   - heartbeatTimeout: see ``heartbeatTimeout``; 5 s by default.
    ///   - eventQueueByteCapacity: see ``eventQueueByteCapacity``; 256 MiB by default.
    ///   - zeroCopyThreshold: see ``zeroCopyThreshold``; 1 KiB by default.
    ///   - security: see ``security``; plaintext by default.
    ///   - bindAddress: see ``bindAddress``; the transport's own address by default.
    public init(
        linger: Duration = .milliseconds(200),
        reconnectInterval: Duration = .milliseconds(100),
        reconnectIntervalMax: Duration = .seconds(1),
        heartbeatInterval: Duration? = .seconds(1),
        heartbeatTimeout: Duration = .seconds(5),
        eventQueueByteCapacity: Int = 256 << 20,
        zeroCopyThreshold: Int = 1024,
        security: ZeroMQSecurity? = nil,
        bindAddress: TransportAddress? = nil
    ) {
        self.linger = linger
        self.reconnectInterval = reconnectInterval
        self.reconnectIntervalMax = reconnectIntervalMax
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.eventQueueByteCapacity = eventQueueByteCapacity
        self.zeroCopyThreshold = zeroCopyThreshold
        self.security = security
        self.bindAddress = bindAddress
    }
}

extension Duration {
    /// Whole milliseconds, rounded up, clamped to `Int32` (libzmq's millisecond options are `int`).
    var zmqMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, milliseconds))
    }
}
#endif
