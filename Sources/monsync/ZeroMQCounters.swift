import Metrics
import MonSyncCore
#if ZeroMQ
import MonSyncZeroMQ

/// The ZeroMQ transport's own counters as `monsync_zeromq_*` instruments: each refresh adds what
/// the transport's statistics gained since the last.
final class ZeroMQCounters: Sendable {
    private let transport: ZeroMQTransport
    private let last = LockedState(ZeroMQTransport.Statistics())
    private let dropped: [(@Sendable (ZeroMQTransport.Statistics) -> Int, Counter)]
    private let sendFailures: [(@Sendable (ZeroMQTransport.Statistics) -> Int, Counter)]
    private let keysRefused: Counter
    private let handshakeFailures: Counter
    private let inboundConnections: Counter
    private let outboundLinks: Gauge

    init(_ transport: ZeroMQTransport) {
        self.transport = transport
        let node = transport.localAddress.description
        func counter(_ label: String, _ extra: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: [("node", node)] + extra)
        }
        let drops: [(@Sendable (ZeroMQTransport.Statistics) -> Int, String)] = [
            ({ $0.droppedWrongFrameCount }, "wrong_frame_count"), ({ $0.droppedInvalidSender }, "invalid_sender"),
            ({ $0.droppedOversize }, "oversize"), ({ $0.droppedUnexpected }, "unexpected"),
            ({ $0.droppedImpersonation }, "impersonation"),
        ]
        dropped = drops.map { ($0.0, counter("monsync_zeromq_dropped_messages_total", [("reason", $0.1)])) }
        let failures: [(@Sendable (ZeroMQTransport.Statistics) -> Int, String)] = [
            ({ $0.sendsTimedOut }, "timed_out"), ({ $0.sendsUnreachable }, "unreachable"), ({ $0.sendsWithoutKey }, "no_key"),
        ]
        sendFailures = failures.map { ($0.0, counter("monsync_zeromq_send_failures_total", [("reason", $0.1)])) }
        keysRefused = counter("monsync_zeromq_keys_refused_total")
        handshakeFailures = counter("monsync_zeromq_handshake_failures_total")
        inboundConnections = counter("monsync_zeromq_inbound_connections_total")
        outboundLinks = Gauge(label: "monsync_zeromq_outbound_links", dimensions: [("node", node)])
    }

    func refresh() {
        let now = transport.statistics
        let before = last.withLock { last in
            defer { last = now }
            return last
        }
        func add(_ counter: Counter, _ read: (ZeroMQTransport.Statistics) -> Int) {
            if read(now) > read(before) { counter.increment(by: read(now) - read(before)) }
        }
        for (read, counter) in dropped + sendFailures { add(counter, read) }
        add(keysRefused) { $0.keysRefused }
        add(handshakeFailures) { $0.inboundHandshakeFailures }
        add(inboundConnections) { $0.inboundConnections }
        outboundLinks.record(now.outboundLinks)
    }
}
#endif
