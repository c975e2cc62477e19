#if ZeroMQ
import CZeroMQ
import MonSyncCore
import Glibc

/// A libzmq context shared by transports: `inproc://` endpoints reach each other only inside one context.
///
/// The underlying `zmq_ctx` is created when the first transport using it starts
/// and terminated (`zmq_ctx_term`) by the last one to shut down, on that
/// transport's I/O thread, after it has closed all its sockets; a later start
/// creates a fresh one. So no context outlives its transports and none is ever
/// terminated in a `deinit`.
///
/// Every transport uses ``shared`` unless given another. Make a separate
/// context to give a group of transports their own libzmq I/O threads; they
/// then cannot reach the `inproc://` endpoints of other contexts.
///
/// libzmq reports no connection events for `inproc://` and does not reconnect
/// an inproc connection after its listener goes away, so the context also keeps
/// the registry of its bound inproc endpoints and tells its transports when one
/// appears or disappears: that is how inproc peers are reported up and down
/// and reconnected after a restart.
public final class ZeroMQContext: Sendable {
    /// The process-wide context that transports use by default.
    public static let shared = ZeroMQContext()

    /// The number of libzmq I/O threads (`ZMQ_IO_THREADS`) each underlying context gets.
    public let ioThreads: Int

    private struct State {
        var handle: ContextHandle?
        var members: [UInt64: Mailbox] = [:]
        var nextMember: UInt64 = 0
        /// Bound inproc endpoint name → the generation of its current binding.
        var inproc: [String: UInt64] = [:]
        var nextGeneration: UInt64 = 0
        /// The context's ZAP handler, started by the first secured member.
        var zap: ZAPHandler?
    }

    private let state = LockedState(State())

    /// The most sockets (`ZMQ_MAX_SOCKETS`) an underlying context may open, if libzmq allows that many.
    static let maximumSockets: Int32 = 16_384

    /// Creates a context holder; the libzmq context itself is made on first use.
    ///
    /// - Parameter ioThreads: libzmq I/O threads for the context; 1 handles hundreds of MB/s.
    public init(ioThreads: Int = 1) { self.ioThreads = max(1, ioThreads) }

    /// A transport's membership: the context handle and its member number.
    struct Lease {
        var handle: ContextHandle
        var member: UInt64
    }

    /// Joins the context (creating the libzmq context if needed); `mailbox` receives inproc presence changes.
    func join(_ mailbox: Mailbox) throws(TransportError) -> Lease {
        try state.withLock { state throws(TransportError) -> Lease in
            let handle: ContextHandle
            if let existing = state.handle {
                handle = existing
            } else {
                guard let raw = zmq_ctx_new() else {
                    throw .underlying("zmq_ctx_new: \(String(cString: zmq_strerror(zmq_errno())))")
                }
                zmq_ctx_set(raw, ZMQ_IO_THREADS, Int32(clamping: ioThreads))
                // libzmq's default (1023 sockets a context) is too few for a process of many
                // transports: each takes 3 sockets (ROUTER, its monitor's two PAIRs) and 3 more
                // per peer (DEALER, its monitor's two), so `monsync bench --clients 128` (12 each,
                // 1 536) found zmq_socket failing for a third of its clients, which then never
                // reached a monitor. Raised to what the build allows, at most 16 384 (the context
                // keeps one slot pointer per socket: 128 KiB).
                let limit = zmq_ctx_get(raw, ZMQ_SOCKET_LIMIT)
                zmq_ctx_set(raw, ZMQ_MAX_SOCKETS, min(limit > 0 ? limit : 1023, Self.maximumSockets))
                handle = ContextHandle(raw: raw)
                state.handle = handle
            }
            state.nextMember += 1
            state.members[state.nextMember] = mailbox
            return Lease(handle: handle, member: state.nextMember)
        }
    }

    /// The ZAP domain under which `lease`'s member authenticates its peers with `authorizer`
    /// (starting the context's ZAP handler if it is the first to need one).
    func authenticate(for lease: Lease, _ authorizer: @escaping ZAPHandler.Authorizer) throws(TransportError) -> String {
        let domain = "monsync-\(lease.member)"
        try state.withLock { (state) throws(TransportError) in
            if state.zap == nil { state.zap = try ZAPHandler.start(on: lease.handle.raw) }
            state.zap!.register(domain: domain, authorizer)
        }
        return domain
    }

    /// Leaves the context. The last member terminates the libzmq context; it must have closed its sockets.
    ///
    /// Called on the leaving transport's I/O thread, which may block in `zmq_ctx_term` for at most the linger.
    func leave(_ lease: Lease) {
        let (toTerminate, zap) = state.withLock { state -> (ContextHandle?, ZAPHandler?) in
            state.members[lease.member] = nil
            state.zap?.unregister(domain: "monsync-\(lease.member)")
            guard state.members.isEmpty, let handle = state.handle, handle.raw == lease.handle.raw else { return (nil, nil) }
            state.handle = nil
            defer { state.zap = nil }
            return (handle, state.zap)
        }
        // The handler's socket must be closed before the context can terminate.
        zap?.stop()
        if let toTerminate {
            while zmq_ctx_term(toTerminate.raw) != 0 && zmq_errno() == EINTR {}
        }
    }

    /// Records that `member` bound the inproc endpoint `name` and tells the other members.
    func inprocBound(_ name: String, by member: UInt64) {
        let (generation, others) = state.withLock { state -> (UInt64, [Mailbox]) in
            state.nextGeneration += 1
            state.inproc[name] = state.nextGeneration
            return (state.nextGeneration, state.members.filter { $0.key != member }.map(\.value))
        }
        for mailbox in others { _ = mailbox.post(.inprocPresence(name: name, generation: generation, bound: true)) }
    }

    /// Records that the inproc endpoint `name` is gone and tells the other members.
    func inprocUnbound(_ name: String, by member: UInt64) {
        let (generation, others) = state.withLock { state -> (UInt64?, [Mailbox]) in
            let generation = state.inproc.removeValue(forKey: name)
            return (generation, state.members.filter { $0.key != member }.map(\.value))
        }
        guard let generation else { return }
        for mailbox in others { _ = mailbox.post(.inprocPresence(name: name, generation: generation, bound: false)) }
    }

    /// The generation of the current binding of inproc endpoint `name`, if it is bound.
    func inprocGeneration(of name: String) -> UInt64? {
        state.withLock { $0.inproc[name] }
    }
}

/// A libzmq context pointer that may cross threads.
///
/// `@unchecked Sendable` is safe: zmq_ctx_new(3) documents a context as thread
/// safe ("may be shared among as many application threads as necessary"), and
/// the pointer is only ever passed to the thread-safe `zmq_socket`,
/// `zmq_ctx_set` and (once, by the last member, after every socket is closed)
/// `zmq_ctx_term`.
struct ContextHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}
#endif
