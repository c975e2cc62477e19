#if ZeroMQ
import CZeroMQ
import DequeModule
import Glibc
import Logging
import MonSyncCore
import Synchronization

/// A send waiting on the I/O thread, with the timer that bounds its wait.
private struct PendingSend {
    var request: SendRequest
    var timer: Task<Void, Never>?
    /// How many of the request's messages libzmq has taken (a batch can go out in parts).
    var sent = 0
    var remaining: Int { request.messages.count - sent }
}

/// The outbound connection to one peer: a DEALER whose routing id is our own address, and its monitor.
private final class PeerLink {
    let peer: TransportAddress
    var dealer: UnsafeMutableRawPointer?
    var monitor: UnsafeMutableRawPointer?
    var pending: Deque<PendingSend> = []
    /// The messages of `pending` not yet handed to libzmq (the queue's bound counts messages, not requests).
    var queuedMessages = 0
    var isUp = false
    /// `connect(to:)` asked for this link: it is kept even while the peer never came up.
    var isPinned = false
    /// inproc only: the generation of the listener binding this link is connected to (0: none known).
    var inprocGeneration: UInt64 = 0
    /// With CURVE: the public key the DEALER authenticates the peer by.
    var serverKey: String?

    init(peer: TransportAddress) { self.peer = peer }

    /// Whether handing a message to the DEALER can mean delivery.
    ///
    /// For tcp and ipc, `ZMQ_IMMEDIATE` already makes the DEALER refuse messages
    /// until a connection is complete. An inproc connection to a name nobody has
    /// bound is accepted and queued by libzmq regardless, so inproc sends wait
    /// for the context's registry to say the listener is there.
    var canSend: Bool { peer.scheme != "inproc" || isUp }
}

/// Keeps a large outbound payload alive while libzmq owns it (zero-copy send).
///
/// The array is a `let` that nothing mutates, so its contiguous native storage
/// never moves; libzmq reads it until it calls the free function, which
/// releases this box from whatever thread it runs on (reference counting is atomic).
private final class PayloadBox {
    let bytes: [UInt8]
    let baseAddress: UnsafeMutableRawPointer

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        baseAddress = bytes.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
    }
}

/// Monitor endpoints must be unique within a (possibly shared) context.
private let monitorSequence = Atomic<UInt64>(0)

/// The transport's dedicated I/O thread: it alone touches the sockets.
///
/// It polls the wake-up eventfd, the listening ROUTER, every outbound DEALER and
/// every socket monitor with `zmq_poll` and no timeout; all timing comes from
/// callers' timer tasks (on the injectable clock) that post commands. It is
/// created by ``ZeroMQTransport/start()``, handed to a new thread, and never
/// touched by any other thread afterwards.
final class IOLoop {
    private let address: TransportAddress
    private let options: TransportOptions
    private let configuration: ZeroMQConfiguration
    private let timebase: Timebase
    private let context: ZeroMQContext
    private let lease: ZeroMQContext.Lease
    private let mailbox: Mailbox
    private let wakeFD: Int32
    private let events: EventQueue
    private let statistics: StatisticsBox
    private let logger: Logger
    private let started: CheckedContinuation<Result<Void, TransportError>, Never>
    private let finished: Completion

    private var router: UnsafeMutableRawPointer?
    private var routerMonitor: UnsafeMutableRawPointer?
    private var links: [TransportAddress: PeerLink] = [:]
    /// Send id → peer, for every send waiting in a link's `pending`.
    private var waiting: [UInt64: TransportAddress] = [:]
    private let message: UnsafeMutablePointer<zmq_msg_t>
    private var receiveBuffers = ReceiveBufferPool()
    private var running = true
    private var inprocBound = false
    /// Refused input is counted in full, logged once per sender per interval.
    private var refusalLog = LogThrottle()
    /// Our address as the first frame of every message we send (the peer's ROUTER reads the sender from it).
    private lazy var addressFrame: [UInt8] = Array(address.description.utf8)
    /// inproc peers whose listener went away, not yet reported down (see `inprocPresence`).
    private var departingInproc: [(link: PeerLink, generation: UInt64, since: ContinuousClock.Instant)] = []
    /// Sender frames already parsed into addresses (bounded: cleared when full).
    private var senders: [[UInt8]: TransportAddress] = [:]
    /// With CURVE: the keys of addresses not known in advance, learned from their authenticated
    /// messages (where to send a client its reply), oldest first for the bound.
    private var learnedKeys: [TransportAddress: String] = [:]
    private var learnedOrder: Deque<TransportAddress> = []
    static let learnedKeysLimit = 4096

    init(address: TransportAddress, options: TransportOptions, configuration: ZeroMQConfiguration, timebase: Timebase,
         context: ZeroMQContext, lease: ZeroMQContext.Lease, mailbox: Mailbox, wakeFD: Int32, events: EventQueue,
         statistics: StatisticsBox, logger: Logger,
         started: CheckedContinuation<Result<Void, TransportError>, Never>, finished: Completion) {
        self.address = address
        self.options = options
        self.configuration = configuration
        self.timebase = timebase
        self.context = context
        self.lease = lease
        self.mailbox = mailbox
        self.wakeFD = wakeFD
        self.events = events
        self.statistics = statistics
        self.logger = logger
        self.started = started
        self.finished = finished
        message = .allocate(capacity: 1)
    }

    deinit { message.deallocate() }

    /// Starts the thread that runs this loop. On failure the loop is not run and the error is returned.
    static func spawn(_ loop: IOLoop) -> TransportError? {
        var thread = pthread_t()
        let unmanaged = Unmanaged.passRetained(loop)
        let rc = pthread_create(&thread, nil, { argument in
            let loop = Unmanaged<IOLoop>.fromOpaque(argument!).takeRetainedValue()
            monsync_set_thread_name("monsync-zmq")
            loop.run()
            return nil
        }, unmanaged.toOpaque())
        guard rc == 0 else {
            unmanaged.release()
            return .underlying("pthread_create: \(String(cString: strerror(rc)))")
        }
        pthread_detach(thread)
        return nil
    }

    // MARK: - Lifecycle

    private func run() {
        do {
            try bindRouter()
        } catch {
            tearDown()
            started.resume(returning: .failure(error))
            finished.signal()
            return
        }
        if address.scheme == "inproc" {
            context.inprocBound(address.description, by: lease.member)
            inprocBound = true
        }
        logger.debug("listening")
        started.resume(returning: .success(()))
        poll()
        tearDown()
        logger.debug("stopped")
        finished.signal()
    }

    /// A busy address is retried for up to 50 × 20 ms = 1 s before the start fails: libzmq closes
    /// an unbound listener on its I/O thread, later, and that thread (shared by every transport of
    /// the context) can be busy with large messages for a while.
    static let bindAttempts = 50
    static let bindRetryMicroseconds: UInt32 = 20_000

    private func bindRouter() throws(TransportError) {
        guard let socket = zmq_socket(lease.handle.raw, ZMQ_ROUTER) else { throw zmqError("zmq_socket(ROUTER)") }
        router = socket
        try setCommonOptions(socket)
        // We never send through the ROUTER (replies travel on our own DEALER to the
        // sender's ROUTER), but if anything ever did, an unknown routing id must fail, not vanish.
        try setOption(socket, ZMQ_ROUTER_MANDATORY, Int32(1))
        if let security = configuration.security { try secureRouter(socket, security) }
        // No ZMQ_ROUTER_HANDOVER: with it, a second connection claiming a routing id in use takes
        // the first one's pipe over while that pipe's engine may still be reading, and libzmq
        // (4.3.4) aborts the whole process (`!_io_error`, stream_engine_base.cpp:331) — two
        // strangers' DEALERs with one id, opened and closed a few times, killed a node. Without
        // it the ROUTER refuses the second connection; the peer's DEALER reconnects after its
        // reconnect interval and gets in once the first connection is gone (a restarted process's
        // old connection closes with it; a vanished host's is ended by the heartbeat timeout).
        routerMonitor = try monitor(socket, events: ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED
            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        // The identity, or where a proxy in front of it forwards to (Ceph's public_bind_addr).
        let address = configuration.bindAddress ?? self.address
        if address.scheme == "ipc" && unixSocketIsListening(at: address.location) {
            throw .bindFailed(address, reason: "address already in use (another process listens on \(address.location))")
        }
        // libzmq releases a closed listener on its own I/O thread, a moment after zmq_close: a node
        // restarted at once on the same TCP port can find it still taken. Retry briefly (this is the
        // transport's own thread, so waiting here blocks no one else); a port that another process
        // really holds still fails, after the grace period.
        var attempts = 0
        while zmq_bind(socket, address.description) != 0 {
            let error = zmq_errno()
            attempts += 1
            guard error == EADDRINUSE, attempts < Self.bindAttempts else {
                throw .bindFailed(address, reason: String(cString: zmq_strerror(error)))
            }
            usleep(Self.bindRetryMicroseconds)
        }
    }

    /// Makes the ROUTER a CURVE server whose ZAP domain admits exactly the keyring's keys.
    private func secureRouter(_ socket: UnsafeMutableRawPointer, _ security: ZeroMQSecurity) throws(TransportError) {
        let (keyring, statistics, logger) = (security.keyring, statistics, logger)
        let refusals = LockedState(LogThrottle())
        let domain = try context.authenticate(for: lease) { key in
            if keyring.peer(forKey: key) != nil { return true }
            statistics.update { $0.keysRefused += 1 }
            refusals.withLock {
                $0.log(logger, .warning, "refused a connection: its key is not in the keyring", key: key, now: MonotonicUptime.now,
                       metadata: ["key": "\(key)"])
            }
            return false
        }
        try setOption(socket, ZMQ_ZAP_DOMAIN, Array(domain.utf8))
        try setOption(socket, ZMQ_CURVE_SERVER, Int32(1))
        try setOption(socket, ZMQ_CURVE_SECRETKEY, Array(security.keyPair.secretKey.utf8))
    }

    /// Closes every socket on this thread, fails what is still waiting, and leaves the context.
    private func tearDown() {
        for command in mailbox.close() {
            if case let .send(request) = command { request.complete(sent: 0, .notRunning) }
        }
        let hadLinks = !links.isEmpty
        for link in links.values {
            for pending in link.pending {
                pending.timer?.cancel()
                pending.request.complete(sent: pending.sent, .notRunning)
            }
            link.pending.removeAll()
            link.queuedMessages = 0
            closeSockets(of: link)
        }
        links.removeAll()
        // Only then close the ROUTER: peers notice our departure when it goes (their DEALERs to it
        // disconnect), and what we sent them should arrive before that. The DEALERs flush in the
        // background for up to the linger; give them a head start (best effort: libzmq says when a
        // closed socket is gone only through its monitor, and a monitor kept past zmq_close can
        // block libzmq's I/O thread — every socket of the context — once its reader is closed).
        if hadLinks { usleep(UInt32(min(configuration.linger, Self.flushGrace).zmqMilliseconds) * 1000) }
        // inproc peers learn of our departure from the context's registry: after our last messages.
        if inprocBound { context.inprocUnbound(address.description, by: lease.member) }
        waiting.removeAll()
        statistics.update { $0.outboundLinks = 0 }
        if let router {
            if routerMonitor != nil { zmq_socket_monitor(router, nil, 0) }
            // zmq_close releases the endpoint later, on libzmq's reaper thread; unbinding first
            // frees the address now, so a node restarted at once can bind it again.
            zmq_unbind(router, address.description)
            zmq_close(router)
        }
        if let routerMonitor { zmq_close(routerMonitor) }
        router = nil
        routerMonitor = nil
        context.leave(lease)
    }

    /// How long a shutdown waits, after closing its DEALERs, before it closes the ROUTER.
    static let flushGrace: Duration = .milliseconds(250)

    // MARK: - The poll loop

    /// How long links that need no prompt attention (see `poll`) may go unpolled while others are busy.
    static let quietLinkPollInterval: Duration = .milliseconds(50)

    private func poll() {
        var items: [zmq_pollitem_t] = []
        var polled: [PeerLink] = []
        var nextFullPoll = ContinuousClock.now
        while running {
            // zmq_poll costs a syscall's worth of work per socket, and a node answering many clients
            // has a DEALER and a monitor per client (the leader under `bench --clients 128`: 260
            // sockets, a third of its CPU in poll). A link needs prompt polling only if something
            // waits to be sent on it, `connect(to:)` pinned it (a monitor's peers), or it has no
            // monitor (inproc); the others — whose only news is a peer event or stray inbound
            // bytes — are polled at most every `quietLinkPollInterval` while the thread is busy
            // (a transport with nothing to do waits in a poll of every socket, with no timeout).
            let start = ContinuousClock.now
            let full = start >= nextFullPoll
            items.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            items.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0))
            let readRouter = events.roomOrPause()
            items.append(zmq_pollitem_t(socket: router, fd: -1, events: readRouter ? Int16(ZMQ_POLLIN) : 0, revents: 0))
            items.append(zmq_pollitem_t(socket: routerMonitor, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
            for link in links.values {
                guard let dealer = link.dealer else { continue }
                guard full || link.isPinned || !link.pending.isEmpty || link.monitor == nil else { continue }
                let wanted = ZMQ_POLLIN | (link.pending.isEmpty || !link.canSend ? 0 : ZMQ_POLLOUT)
                items.append(zmq_pollitem_t(socket: dealer, fd: -1, events: Int16(wanted), revents: 0))
                // A link without a monitor (inproc) polls nothing in this slot: with no socket, fd -1
                // is ignored by poll(2) (fd 0 would report POLLNVAL forever if stdin were closed).
                items.append(zmq_pollitem_t(socket: link.monitor, fd: -1, events: link.monitor == nil ? 0 : Int16(ZMQ_POLLIN),
                                            revents: 0))
                polled.append(link)
            }
            let count = items.count
            // A departed inproc peer waiting to be reported down needs the loop to come round again.
            var timeout = departingInproc.isEmpty ? -1 : 100
            if !full {
                // Wake up for the full poll that is due, at the latest.
                let wait = start.duration(to: nextFullPoll)
                let milliseconds = Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000) + 1
                timeout = timeout < 0 ? milliseconds : min(timeout, milliseconds)
            }
            let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32(count), timeout) }
            if full { nextFullPoll = ContinuousClock.now + Self.quietLinkPollInterval }
            if rc < 0 {
                let error = zmq_errno()
                if error == EINTR { continue }
                logger.critical("zmq_poll failed; stopping the transport", metadata: [
                    "error": "\(String(cString: zmq_strerror(error)))",
                ])
                events.close()
                running = false
                break
            }
            // Sockets first: handling commands may close and reopen links' sockets.
            if items[1].revents & Int16(ZMQ_POLLIN) != 0 { drainRouter() }
            if items[2].revents & Int16(ZMQ_POLLIN) != 0 { drainRouterMonitor() }
            for (index, link) in polled.enumerated() {
                let dealerItem = items[3 + 2 * index], monitorItem = items[4 + 2 * index]
                if monitorItem.revents & Int16(ZMQ_POLLIN) != 0 { drainMonitor(of: link) }
                if dealerItem.revents & Int16(ZMQ_POLLIN) != 0 { drainDealer(of: link) }
                if dealerItem.revents & Int16(ZMQ_POLLOUT) != 0 { flush(link) }
            }
            if items[0].revents & Int16(ZMQ_POLLIN) != 0 { handleCommands() }
            reportDepartedInproc()
        }
    }

    private func handleCommands() {
        for command in mailbox.takeAll() {
            switch command {
            case let .send(request): enqueue(request)
            case let .connect(peer):
                do throws(TransportError) { try link(to: peer).isPinned = true } catch {
                    logger.warning("cannot connect", metadata: ["peer": "\(peer)", "error": "\(error)"])
                }
            case let .expire(id): finishWaiting(id: id, cancelled: false)
            case let .cancel(id): finishWaiting(id: id, cancelled: true)
            case let .inprocPresence(name, generation, bound): inprocPresence(name: name, generation: generation, bound: bound)
            case .shutdown: running = false
            }
        }
    }

    // MARK: - Sending

    private func enqueue(_ request: SendRequest) {
        guard running else { return request.complete(sent: 0, .notRunning) }
        guard !request.messages.isEmpty else { return request.complete(sent: 0) }
        let link: PeerLink
        do throws(TransportError) { link = try self.link(to: request.peer) } catch {
            return request.complete(sent: 0, error)
        }
        // The bounded wait queue in front of libzmq's pipe counts messages; a batch is taken whole
        // while the queue is empty (so any batch can go), and otherwise only if it fits.
        if !link.pending.isEmpty && link.queuedMessages + request.messages.count > max(1, options.queueCapacity) {
            // The bounded wait queue in front of libzmq's pipe is full too: refuse at once.
            fail(request, sent: 0, link: link, error: link.isUp ? .sendTimedOut(link.peer, after: .zero) : .peerUnreachable(link.peer))
            return
        }
        link.pending.append(PendingSend(request: request))
        link.queuedMessages += request.messages.count
        waiting[request.id] = link.peer
        flush(link)
        guard waiting[request.id] != nil, let index = link.pending.indices.last else { return }
        // Could not go at once: bound the wait by the send timeout on the transport's clock.
        let (mailbox, timebase, id, deadline) = (mailbox, timebase, request.id, request.deadline)
        link.pending[index].timer = Task {
            do { try await timebase.sleep(until: deadline) } catch { return }
            _ = mailbox.post(.expire(id: id))
        }
    }

    /// Sends the link's waiting messages in order until libzmq refuses one (no connection or high-water mark).
    ///
    /// A request (one message or a batch) completes once all its messages are taken, or at the
    /// first that fails for another reason than `EAGAIN` (the rest of it is not sent).
    private func flush(_ link: PeerLink) {
        guard let dealer = link.dealer, link.canSend else { return }
        while !link.pending.isEmpty {
            var error: Int32 = 0
            var messages = 0, bytes = 0
            while link.pending[0].sent < link.pending[0].request.messages.count {
                let body = link.pending[0].request.messages[link.pending[0].sent]
                error = transmit(body, on: dealer)
                if error != 0 { break }
                link.pending[0].sent += 1
                link.queuedMessages -= 1
                messages += 1
                bytes += body.count
            }
            if messages > 0 {
                // With ZMQ_IMMEDIATE a DEALER takes a message only over a completed connection, so
                // the peer is up even if the monitor's handshake event has not been read yet.
                markUp(link)
                statistics.update {
                    $0.messagesSent += messages
                    $0.bytesSent += bytes
                }
            }
            if error == EAGAIN { return }
            let head = link.pending.removeFirst()
            link.queuedMessages -= head.remaining
            waiting[head.request.id] = nil
            head.timer?.cancel()
            if error == 0 {
                head.request.complete(sent: head.sent)
            } else {
                let text = String(cString: zmq_strerror(error))
                logger.error("send failed", metadata: ["peer": "\(link.peer)", "error": "\(text)"])
                head.request.complete(sent: head.sent, .underlying("zmq_send to \(link.peer): \(text)"))
            }
        }
    }

    /// Hands `bytes` to libzmq without blocking; returns 0 or the errno (`EAGAIN`: try again later).
    private func transmit(_ bytes: [UInt8], on socket: UnsafeMutableRawPointer) -> Int32 {
        // The sender's address first. A multipart message is queued whole or not at all: once this
        // part is taken (the high-water mark is checked on a message's first part), the body is too.
        let sent = addressFrame.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, ZMQ_SNDMORE | ZMQ_DONTWAIT) }
        if sent < 0 { return zmq_errno() }
        if bytes.count < configuration.zeroCopyThreshold {
            let rc = bytes.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, ZMQ_DONTWAIT) }
            return rc < 0 ? zmq_errno() : 0
        }
        let box = Unmanaged.passRetained(PayloadBox(bytes))
        let rc = zmq_msg_init_data(message, box.takeUnretainedValue().baseAddress, bytes.count, { _, hint in
            // Runs on whichever thread libzmq frees the message on.
            Unmanaged<PayloadBox>.fromOpaque(hint!).release()
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            return zmq_errno()
        }
        if zmq_msg_send(message, socket, ZMQ_DONTWAIT) < 0 {
            let error = zmq_errno()
            zmq_msg_close(message) // still ours after a failed send: frees the box
            return error
        }
        return 0
    }

    /// A waiting send's timer fired, or its task was cancelled.
    private func finishWaiting(id: UInt64, cancelled: Bool) {
        guard let peer = waiting.removeValue(forKey: id), let link = links[peer],
              let index = link.pending.firstIndex(where: { $0.request.id == id }) else { return }
        let pending = link.pending.remove(at: index)
        link.queuedMessages -= pending.remaining
        pending.timer?.cancel()
        if cancelled { return pending.request.complete(sent: pending.sent, .notRunning) }
        fail(pending.request, sent: pending.sent, link: link,
             error: link.isUp ? .sendTimedOut(peer, after: options.sendTimeout) : .peerUnreachable(peer))
    }

    private func fail(_ request: SendRequest, sent: Int, link: PeerLink, error: TransportError) {
        statistics.update {
            if case .sendTimedOut = error { $0.sendsTimedOut += 1 } else { $0.sendsUnreachable += 1 }
        }
        logger.debug("send failed", metadata: ["peer": "\(link.peer)", "error": "\(error)"])
        forgetIfUnused(link)
        request.complete(sent: sent, error)
    }

    /// Closes a link that only sends opened (not `connect(to:)`), that is not up, and that has
    /// nothing waiting; returns whether it did.
    ///
    /// Handlers reply to whatever address a message came from. Without this, every short-lived
    /// client (`monsync get`) would leave a DEALER reconnecting to its closed port forever — a
    /// socket, its monitor and a connection attempt, about three descriptors per client until the
    /// node ran out — and a peer sending under many made-up addresses a DEALER for each. A send
    /// to the address later opens a new link (and waits for it to connect, as any first send does).
    @discardableResult
    private func forgetIfUnused(_ link: PeerLink) -> Bool {
        guard !link.isPinned, !link.isUp, link.pending.isEmpty, links[link.peer] === link else { return false }
        closeSockets(of: link)
        links[link.peer] = nil
        statistics.update {
            $0.outboundLinks = links.count
            $0.linksClosed += 1
        }
        return true
    }

    // MARK: - Links

    /// The link to `peer`, opening it on first use.
    private func link(to peer: TransportAddress) throws(TransportError) -> PeerLink {
        if let link = links[peer] { return link }
        guard ZeroMQTransport.schemes.contains(peer.scheme) else {
            throw .invalidAddress(peer.description, reason: "the ZeroMQ transport reaches only tcp://, ipc:// and inproc:// addresses")
        }
        let link = PeerLink(peer: peer)
        try open(link)
        links[peer] = link
        statistics.update { $0.outboundLinks = links.count }
        return link
    }

    private func open(_ link: PeerLink) throws(TransportError) {
        guard let dealer = zmq_socket(lease.handle.raw, ZMQ_DEALER) else { throw zmqError("zmq_socket(DEALER)") }
        do throws(TransportError) {
            try setCommonOptions(dealer)
            // Queue only to completed connections: a message for a peer that is not (yet) up
            // waits in our bounded, timed queue and fails with peerUnreachable, instead of
            // sitting in a pipe to a peer that may never come.
            try setOption(dealer, ZMQ_IMMEDIATE, Int32(1))
            // No ZMQ_ROUTING_ID: the peer's ROUTER gives each connection an id of its own, so two
            // connections never share one (a restarted node's new connection before its old one
            // closed, a reconnect after a heartbeat timeout the other side has not noticed yet).
            // With a shared id, libzmq 4.3.4 either aborts (ZMQ_ROUTER_HANDOVER) or parks the new
            // connection and later takes one of its data frames for its id. Our address travels
            // in each message instead: `[address, body]` (see `transmit`).
            if let security = configuration.security {
                // Authenticate the peer by its key, known in advance (a monitor) or learned from
                // its authenticated messages (a client awaiting a reply); without one, no connection.
                guard let key = security.keyring.key(for: link.peer) ?? learnedKeys[link.peer] else {
                    // Nobody we could authenticate: as unreachable as an address nobody serves.
                    statistics.update { $0.sendsWithoutKey += 1 }
                    logger.debug("no CURVE key is known for the peer", metadata: ["peer": "\(link.peer)"])
                    throw .peerUnreachable(link.peer)
                }
                try setOption(dealer, ZMQ_CURVE_SERVERKEY, Array(key.utf8))
                try setOption(dealer, ZMQ_CURVE_PUBLICKEY, Array(security.keyPair.publicKey.utf8))
                try setOption(dealer, ZMQ_CURVE_SECRETKEY, Array(security.keyPair.secretKey.utf8))
                link.serverKey = key
            }
            try setOption(dealer, ZMQ_RECONNECT_IVL, configuration.reconnectInterval.zmqMilliseconds)
            try setOption(dealer, ZMQ_RECONNECT_IVL_MAX, configuration.reconnectIntervalMax.zmqMilliseconds)
            if link.peer.scheme != "inproc" {
                link.monitor = try monitor(dealer, events: ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                    | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            }
            guard zmq_connect(dealer, link.peer.description) == 0 else {
                throw .invalidAddress(link.peer.description, reason: String(cString: zmq_strerror(zmq_errno())))
            }
        } catch {
            link.dealer = dealer
            closeSockets(of: link)
            throw error
        }
        link.dealer = dealer
        if link.peer.scheme == "inproc", let generation = context.inprocGeneration(of: link.peer.description) {
            link.inprocGeneration = generation
            markUp(link)
        }
    }

    private func closeSockets(of link: PeerLink) {
        if let dealer = link.dealer {
            if link.monitor != nil { zmq_socket_monitor(dealer, nil, 0) }
            zmq_close(dealer)
        }
        if let monitor = link.monitor { zmq_close(monitor) }
        link.dealer = nil
        link.monitor = nil
    }

    /// An inproc listener of our context appeared or went away (libzmq reports neither, nor reconnects).
    private func inprocPresence(name: String, generation: UInt64, bound: Bool) {
        guard let peer = try? TransportAddress(name), let link = links[peer] else { return }
        if bound {
            guard generation > link.inprocGeneration else { return }
            // The old pipe (if any) died with the old listener: connect afresh, keeping what waits.
            closeSockets(of: link)
            do throws(TransportError) { try open(link) } catch {
                logger.error("cannot reconnect", metadata: ["peer": "\(peer)", "error": "\(error)"])
                return
            }
            link.inprocGeneration = generation
            markUp(link)
            flush(link)
        } else if generation == link.inprocGeneration {
            // What the peer sent before it left may still wait in our ROUTER: report it down after.
            departingInproc.append((link, generation, ContinuousClock.now))
        }
    }

    /// How long a departed inproc peer's down event waits for its last messages to be read.
    static let inprocDownGrace: Duration = .seconds(2)

    /// Reports departed inproc peers down once the ROUTER has nothing left to read (or the grace ran out).
    private func reportDepartedInproc() {
        guard !departingInproc.isEmpty else { return }
        var pending: Int32 = 0
        var size = MemoryLayout<Int32>.size
        let readable = router.map { zmq_getsockopt($0, ZMQ_EVENTS, &pending, &size) == 0 && pending & Int32(ZMQ_POLLIN) != 0 } ?? false
        let now = ContinuousClock.now
        departingInproc.removeAll { entry in
            guard !readable || now - entry.since > Self.inprocDownGrace else { return false }
            if entry.link.inprocGeneration == entry.generation { markDown(entry.link) }
            return true
        }
    }

    private func markUp(_ link: PeerLink) {
        guard !link.isUp else { return }
        link.isUp = true
        statistics.update { $0.peerUps += 1 }
        logger.debug("peer up", metadata: ["peer": "\(link.peer)"])
        events.push(.peerUp(link.peer))
    }

    private func markDown(_ link: PeerLink) {
        guard link.isUp else { return }
        link.isUp = false
        statistics.update { $0.peerDowns += 1 }
        logger.debug("peer down", metadata: ["peer": "\(link.peer)"])
        events.push(.peerDown(link.peer))
    }

    // MARK: - Receiving

    /// Reads the next frame into `message`; `false` when none is waiting (or on error).
    private func receiveFrame(from socket: UnsafeMutableRawPointer) -> Bool {
        zmq_msg_init(message)
        if zmq_msg_recv(message, socket, ZMQ_DONTWAIT) >= 0 { return true }
        let error = zmq_errno()
        zmq_msg_close(message)
        if error != EAGAIN && error != EINTR {
            logger.error("zmq_msg_recv failed", metadata: ["error": "\(String(cString: zmq_strerror(error)))"])
        }
        return false
    }

    /// Copies the frame in `message` out and closes it; returns whether more frames follow.
    private func takeFrame() -> (bytes: [UInt8], more: Bool) {
        let size = zmq_msg_size(message)
        let data = zmq_msg_data(message)
        let bytes = receiveBuffers.copy(data, count: size)
        let more = zmq_msg_more(message) != 0
        zmq_msg_close(message)
        return (bytes, more)
    }

    /// Discards the rest of a multipart message; returns how many frames it skipped.
    private func skipRemainingFrames(of socket: UnsafeMutableRawPointer) -> Int {
        var skipped = 0
        // Multipart delivery is all-or-nothing, so the remaining frames are already here.
        while receiveFrame(from: socket) {
            skipped += 1
            let more = zmq_msg_more(message) != 0
            zmq_msg_close(message)
            if !more { break }
        }
        return skipped
    }

    /// Reads `[connection id, sender address, body]` (and, from peers that name themselves by
    /// their routing id instead, `[routing id = sender address, body]`), checks it, and queues it.
    private func drainRouter() {
        guard let router else { return }
        var budget = 1024 // then poll again, so commands are not starved by a flood
        while budget > 0, events.roomOrPause(), receiveFrame(from: router) {
            budget -= 1
            let (identity, more) = takeFrame()
            guard more else {
                drop(.wrongFrameCount, identity: identity, size: 0, detail: "1 frame, expected [address, body]")
                continue
            }
            guard receiveFrame(from: router) else { return }
            // Two frames after the connection id: the first names the sender. One: the routing id does.
            var claimed = identity
            if zmq_msg_more(message) != 0 {
                (claimed, _) = takeFrame()
                guard receiveFrame(from: router) else { return }
                if zmq_msg_more(message) != 0 {
                    let size = zmq_msg_size(message)
                    zmq_msg_close(message)
                    let frames = 3 + skipRemainingFrames(of: router)
                    drop(.wrongFrameCount, identity: claimed, size: size, detail: "\(frames) frames, expected [address, body]")
                    continue
                }
            }
            let size = zmq_msg_size(message)
            guard let sender = sender(named: claimed) else {
                zmq_msg_close(message)
                drop(.invalidSender, identity: claimed, size: size, detail: "the sender is not a tcp, ipc or inproc address")
                continue
            }
            guard size <= options.maximumMessageSize else {
                zmq_msg_close(message)
                drop(.oversize, identity: claimed, size: size, detail: "limit \(options.maximumMessageSize) bytes")
                continue
            }
            var peer: PeerIdentity?
            if let security = configuration.security {
                guard let authenticated = authenticatedPeer(of: sender, security) else {
                    zmq_msg_close(message)
                    continue
                }
                peer = authenticated
            }
            let (bytes, _) = takeFrame()
            statistics.update {
                $0.messagesReceived += 1
                $0.bytesReceived += bytes.count
            }
            events.push(.message(InboundMessage(sender: sender, bytes: bytes, peer: peer)))
        }
    }

    /// The address a sender frame names (parsed once per distinct frame; the cache is bounded).
    private func sender(named frame: [UInt8]) -> TransportAddress? {
        if let known = senders[frame] { return known }
        guard let address = Self.sender(from: frame) else { return nil }
        if senders.count >= 4096 { senders.removeAll(keepingCapacity: true) }
        senders[frame] = address
        return address
    }

    /// The identity the current message's connection authenticated, if its claimed `sender` may
    /// speak with that key; learns the key of an address not known in advance (for the reply).
    private func authenticatedPeer(of sender: TransportAddress, _ security: ZeroMQSecurity) -> PeerIdentity? {
        // The ZAP handler made the admitted key the connection's User-Id.
        guard let userID = zmq_msg_gets(message, "User-Id"), case let key = String(cString: userID),
              let peer = security.keyring.peer(forKey: key) else {
            statistics.update { $0.droppedImpersonation += 1 }
            return nil
        }
        if let expected = security.keyring.key(for: sender) {
            guard expected == key else {
                statistics.update { $0.droppedImpersonation += 1 }
                refusalLog.log(logger, .warning, "dropped inbound message", key: "impersonation \(key)", now: MonotonicUptime.now, metadata: [
                    "sender": "\(sender)", "reason": "impersonation", "key_owner": "\(peer)",
                    "detail": "the sender address belongs to another key",
                ])
                return nil
            }
            return peer
        }
        if learnedKeys[sender] != key { learn(key, for: sender) }
        return peer
    }

    /// Remembers `key` as `sender`'s (bounded: the oldest is forgotten first). A link opened with
    /// another key for that address is closed: the address now belongs to someone else (a new
    /// client process on a port an earlier one used), so what still waits on it — replies meant
    /// for the earlier owner — fails instead of going to the new one, and the next reply
    /// authenticates the new key. (Kept open, every reply to the new owner queued behind the old
    /// key's handshake, which never completes.)
    private func learn(_ key: String, for sender: TransportAddress) {
        if learnedKeys.updateValue(key, forKey: sender) == nil {
            learnedOrder.append(sender)
            if learnedOrder.count > Self.learnedKeysLimit, let oldest = learnedOrder.popFirst() {
                learnedKeys[oldest] = nil
            }
        }
        guard let link = links[sender], link.serverKey != key else { return }
        closeSockets(of: link)
        links[sender] = nil
        statistics.update { $0.outboundLinks = links.count }
        let stranded = link.pending
        link.pending.removeAll()
        link.queuedMessages = 0
        for pending in stranded {
            pending.timer?.cancel()
            waiting[pending.request.id] = nil
            fail(pending.request, sent: pending.sent, link: link, error: .peerUnreachable(sender))
        }
    }

    /// Our DEALERs only send; whatever a peer's ROUTER sends back on them is hostile or confused.
    private func drainDealer(of link: PeerLink) {
        guard let dealer = link.dealer else { return }
        var budget = 1024
        while budget > 0, receiveFrame(from: dealer) {
            budget -= 1
            let size = zmq_msg_size(message)
            let more = zmq_msg_more(message) != 0
            zmq_msg_close(message)
            if more { _ = skipRemainingFrames(of: dealer) }
            statistics.update { $0.droppedUnexpected += 1 }
            refusalLog.log(logger, .warning, "dropped inbound message", key: "unexpected \(link.peer)", now: MonotonicUptime.now, metadata: [
                "sender": "\(link.peer)", "reason": "unexpected", "bytes": "\(size)",
                "detail": "received on our outbound connection, which carries no inbound traffic",
            ])
        }
    }

    private enum DropReason: String {
        case wrongFrameCount = "wrong_frame_count"
        case invalidSender = "invalid_sender"
        case oversize
    }

    private func drop(_ reason: DropReason, identity: [UInt8], size: Int, detail: String) {
        statistics.update {
            switch reason {
            case .wrongFrameCount: $0.droppedWrongFrameCount += 1
            case .invalidSender: $0.droppedInvalidSender += 1
            case .oversize: $0.droppedOversize += 1
            }
        }
        let sender = Self.printable(identity)
        refusalLog.log(logger, .warning, "dropped inbound message", key: "drop \(sender)", now: MonotonicUptime.now, metadata: [
            "sender": "\(sender)", "reason": "\(reason.rawValue)", "bytes": "\(size)", "detail": "\(detail)",
        ])
    }

    /// The sender named by a routing id, if it is a valid address of a scheme this transport serves.
    static func sender(from identity: [UInt8]) -> TransportAddress? {
        guard let text = String(validating: identity, as: UTF8.self),
              let address = try? TransportAddress(text),
              ZeroMQTransport.schemes.contains(address.scheme),
              address.description == text else { return nil }
        return address
    }

    /// A routing id for logs: printable ASCII as is, other bytes as `\xNN`, at most 80 bytes shown.
    static func printable(_ identity: [UInt8]) -> String {
        var text = ""
        for byte in identity.prefix(80) {
            if byte >= 0x20 && byte < 0x7F && byte != 0x5C {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return identity.count > 80 ? text + "…" : text
    }

    // MARK: - Monitors

    /// Reads one monitor event: `[u16 event, u32 value]` then the endpoint.
    private func readMonitorEvent(from socket: UnsafeMutableRawPointer) -> (event: Int32, endpoint: String)? {
        guard receiveFrame(from: socket) else { return nil }
        var event: UInt16 = 0
        if zmq_msg_size(message) >= 6, let data = zmq_msg_data(message) {
            event = data.loadUnaligned(as: UInt16.self)
        }
        let more = zmq_msg_more(message) != 0
        zmq_msg_close(message)
        var endpoint = ""
        if more, receiveFrame(from: socket) {
            let (bytes, rest) = takeFrame()
            endpoint = String(decoding: bytes, as: UTF8.self)
            if rest { _ = skipRemainingFrames(of: socket) }
        }
        return (Int32(event), endpoint)
    }

    private func drainMonitor(of link: PeerLink) {
        guard let monitor = link.monitor else { return }
        while let (event, endpoint) = readMonitorEvent(from: monitor) {
            switch event {
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: markUp(link)
            case ZMQ_EVENT_DISCONNECTED:
                markDown(link)
                // A client that went away: its DEALER would reconnect to a closed port forever,
                // holding descriptors. A link that carries nothing is closed (a later send reopens it).
                if forgetIfUnused(link) { return }
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                refusalLog.log(logger, .warning, "handshake with peer failed", key: "handshake \(link.peer)", now: MonotonicUptime.now,
                               metadata: ["peer": "\(link.peer)", "endpoint": "\(endpoint)"])
            default: break
            }
        }
    }

    private func drainRouterMonitor() {
        guard let routerMonitor else { return }
        while let (event, endpoint) = readMonitorEvent(from: routerMonitor) {
            switch event {
            case ZMQ_EVENT_ACCEPTED:
                statistics.update { $0.inboundConnections += 1 }
            case ZMQ_EVENT_DISCONNECTED:
                // Every client call ends this way: counted, and logged only when debugging.
                statistics.update { $0.inboundDisconnects += 1 }
                logger.debug("inbound connection closed (peer left, heartbeat lost, or protocol error such as an oversize frame)",
                             metadata: ["endpoint": "\(endpoint)"])
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                statistics.update { $0.inboundHandshakeFailures += 1 }
                refusalLog.log(logger, .warning, "inbound handshake failed", key: "inbound handshake", now: MonotonicUptime.now,
                               metadata: ["endpoint": "\(endpoint)"])
            default: break
            }
        }
    }

    /// Starts monitoring `socket` and returns the connected PAIR socket that receives its events.
    private func monitor(_ socket: UnsafeMutableRawPointer, events: Int32) throws(TransportError) -> UnsafeMutableRawPointer {
        let endpoint = "inproc://monsync-zmq-monitor-\(monitorSequence.add(1, ordering: .relaxed).newValue)"
        guard zmq_socket_monitor(socket, endpoint, events) == 0 else { throw zmqError("zmq_socket_monitor") }
        guard let pair = zmq_socket(lease.handle.raw, ZMQ_PAIR) else {
            zmq_socket_monitor(socket, nil, 0)
            throw zmqError("zmq_socket(PAIR)")
        }
        do {
            try setOption(pair, ZMQ_LINGER, Int32(0))
        } catch {
            zmq_close(pair)
            zmq_socket_monitor(socket, nil, 0)
            throw error
        }
        guard zmq_connect(pair, endpoint) == 0 else {
            let error = zmqError("zmq_connect(monitor)")
            zmq_close(pair)
            zmq_socket_monitor(socket, nil, 0)
            throw error
        }
        return pair
    }

    // MARK: - Options

    /// Options every data socket gets: linger, high-water marks, inbound size limit, heartbeats.
    private func setCommonOptions(_ socket: UnsafeMutableRawPointer) throws(TransportError) {
        try setOption(socket, ZMQ_LINGER, configuration.linger.zmqMilliseconds)
        let hwm = Int32(clamping: max(1, options.queueCapacity))
        try setOption(socket, ZMQ_SNDHWM, hwm)
        try setOption(socket, ZMQ_RCVHWM, hwm)
        // libzmq refuses a larger frame while reading its header, and drops that connection.
        // libzmq checks the size on the wire: under CURVE a frame carries a box's overhead too
        // (the exact limit is checked again on what is received).
        let curveOverhead = configuration.security == nil ? 0 : 64
        // Under CURVE the handshake's commands pass through the same limit (HELLO is 200 bytes,
        // INITIATE 257 plus metadata, the routing id included): below about 300 bytes no handshake
        // ever completed and every send failed after the send timeout (found by the CURVE
        // transport benchmark at 64 B). So never below 1 KiB; each received body is still checked exactly.
        let curveHandshakeFloor = configuration.security == nil ? 0 : 1024
        try setOption(socket, ZMQ_MAXMSGSIZE, Int64(max(options.maximumMessageSize + curveOverhead, curveHandshakeFloor)))
        if let interval = configuration.heartbeatInterval {
            try setOption(socket, ZMQ_HEARTBEAT_IVL, interval.zmqMilliseconds)
            try setOption(socket, ZMQ_HEARTBEAT_TIMEOUT, configuration.heartbeatTimeout.zmqMilliseconds)
            // Sent to the peer: it may drop the connection if it hears nothing for this long.
            try setOption(socket, ZMQ_HEARTBEAT_TTL, min(configuration.heartbeatTimeout.zmqMilliseconds, 6_553_500))
        }
    }

    private func setOption(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Int32) throws(TransportError) {
        var value = value
        guard zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw zmqError("zmq_setsockopt(\(option))")
        }
    }

    private func setOption(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Int64) throws(TransportError) {
        var value = value
        guard zmq_setsockopt(socket, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw zmqError("zmq_setsockopt(\(option))")
        }
    }

    private func setOption(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ bytes: [UInt8]) throws(TransportError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw zmqError("zmq_setsockopt(\(option))") }
    }

    private func zmqError(_ call: String) -> TransportError {
        .underlying("\(call): \(String(cString: zmq_strerror(zmq_errno())))")
    }
}
#endif
