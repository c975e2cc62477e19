#if canImport(Glibc)
import Glibc
#endif
public import MonSyncCore

/// A `MessageTransport` over Unix-domain stream sockets, for processes on one machine:
/// `unix:///tmp/monsync-a.sock`.
///
/// A teaching example of a third-party transport, written with plain POSIX calls:
///
/// - **One I/O thread per endpoint** owns every file descriptor and waits in
///   `poll(2)`; async callers never block: they change the shared `State`
///   under a mutex and wake the thread through a pipe.
/// - **One connection per direction.** To send to a peer, an endpoint connects
///   to the peer's socket and first writes a hello frame naming its own address;
///   the peer answers over a connection of its own. `FrameStreamDecoder` cuts
///   each inbound byte stream back into frames.
/// - **Bounded everywhere.** Each peer has a queue of at most
///   `TransportOptions.queueCapacity` messages; a full queue makes `send` wait
///   (up to the send timeout, on `Timebase`). Each inbound connection stops
///   being read once that many of its messages wait for the consumer, so the
///   kernel's socket buffers fill and the sender's queue with them.
/// - **Peer events** follow the outbound connection: up when it connects, down
///   when it breaks. A peer that went down is reconnected to in the background.
public final class UnixSocketTransport: MessageTransport {
    /// The `unix://` address this endpoint listens on, and its identity towards peers.
    public let localAddress: TransportAddress
    /// The largest message accepted: `TransportOptions.maximumMessageSize`.
    public let limits: TransportLimits

    /// The socket's path in the file system.
    let path: String
    let options: TransportOptions
    private let timebase: Timebase
    /// Wakes the I/O thread; open for the transport's whole life, so a late wake-up is harmless.
    let wakePipe: Posix.WakePipe

    /// Where the endpoint is in its life.
    enum Phase { case idle, running, stopping, stopped }

    /// The state of sending to one peer.
    struct Link {
        enum Status { case down, connecting, up }
        var status = Status.down
        /// Messages accepted by `send`, not yet taken by the I/O thread.
        var queue: [[UInt8]] = []
        /// Sends waiting for room or for the connection.
        var waiters: [Waiter] = []
    }

    /// A suspended `send`; resumed with `true` once its message is queued, `false` to look again, or an error.
    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Result<Bool, TransportError>, Never>
    }

    /// Everything shared between async callers and the I/O thread.
    struct State {
        var phase = Phase.idle
        var links: [TransportAddress: Link] = [:]
        /// Events not yet taken by the consumer, each with the inbound connection it came from.
        var inbox: [(event: TransportEvent, connection: Int?)] = []
        var inboxHead = 0
        var receiver: CheckedContinuation<TransportEvent?, Never>?
        /// Per inbound connection: its messages in ``inbox``.
        var undelivered: [Int: Int] = [:]
        var nextWaiterID: UInt64 = 0
        var threadExited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let state = LockedState(State())

    /// Creates an endpoint; call ``start()`` to listen.
    ///
    /// - Throws: `TransportError.invalidAddress(_:reason:)` unless `address` is `unix://` and an absolute
    ///   path short enough for a `sockaddr_un`; `TransportError.underlying(_:)` if no wake-up pipe can be made.
    public init(address: TransportAddress, options: TransportOptions = TransportOptions()) throws(TransportError) {
        path = try Self.path(of: address)
        localAddress = address
        self.options = options
        limits = TransportLimits(maximumMessageSize: options.maximumMessageSize)
        timebase = Timebase(options.clock)
        do { wakePipe = try Posix.makeWakePipe() } catch { throw .underlying("\(error)") }
    }

    deinit {
        Posix.closeDescriptor(wakePipe.read)
        Posix.closeDescriptor(wakePipe.write)
    }

    /// The socket path of a `unix://` address.
    static func path(of address: TransportAddress) throws(TransportError) -> String {
        guard address.scheme == "unix" else {
            throw .invalidAddress(address.description, reason: "the unix transport serves unix:// addresses")
        }
        guard address.location.hasPrefix("/"), address.location.utf8.count <= Posix.maximumPathLength else {
            throw .invalidAddress(address.description,
                                  reason: "expected an absolute socket path of at most \(Posix.maximumPathLength) bytes")
        }
        return address.location
    }

    // MARK: - MessageTransport

    /// Binds the socket path, replacing a stale socket file, and starts the I/O thread.
    ///
    /// - Throws: `TransportError.alreadyStarted` on a second call; `TransportError.bindFailed(_:reason:)`
    ///   if a running endpoint owns the path or it cannot be bound.
    public func start() async throws(TransportError) {
        try state.withLock { state throws(TransportError) in
            guard state.phase == .idle else { throw .alreadyStarted }
            state.phase = .running
        }
        let listener: Int32
        do { listener = try Self.bindListener(at: path, address: localAddress) } catch {
            markStopped()
            throw error
        }
        let loop = IOLoop(transport: self, listener: listener)
        do { try Posix.spawnThread { loop.run() } } catch {
            Posix.closeDescriptor(listener)
            unlink(path)
            markStopped()
            throw .underlying("\(error)")
        }
    }

    /// After a failed start: nothing runs, and nothing will.
    private func markStopped() {
        state.withLock { state in
            state.phase = .stopped
            state.threadExited = true
        }
    }

    /// Binds the listening socket; a socket file left by a dead process is replaced, a live one is not.
    private static func bindListener(at path: String, address: TransportAddress) throws(TransportError) -> Int32 {
        do { return try Posix.listen(at: path) } catch where error.code == EADDRINUSE {
            if let probe = try? Posix.connect(to: path) {
                Posix.closeDescriptor(probe)
                throw .bindFailed(address, reason: "a running endpoint listens on \(path)")
            }
            unlink(path)  // stale: nobody accepts on it
            do { return try Posix.listen(at: path) } catch { throw .bindFailed(address, reason: "\(error)") }
        } catch {
            throw .bindFailed(address, reason: "\(error)")
        }
    }

    /// Asks the I/O thread to connect to `peer` now; `TransportEvent.peerUp(_:)` follows once it is connected.
    ///
    /// - Throws: `TransportError.notRunning` unless started; `TransportError.invalidAddress(_:reason:)`
    ///   for an address that is not `unix://` with an absolute path.
    public func connect(to peer: TransportAddress) async throws(TransportError) {
        _ = try Self.path(of: peer)
        let wake = try state.withLock { state throws(TransportError) -> Bool in
            guard state.phase == .running else { throw .notRunning }
            guard state.links[peer, default: Link()].status == .down else { return false }
            state.links[peer, default: Link()].status = .connecting
            return true
        }
        if wake { Posix.signal(wakePipe) }
    }

    /// Queues one frame for `peer`, connecting first if needed; returns once the frame is queued.
    ///
    /// - Throws: `TransportError.notRunning`, `TransportError.messageTooLarge(size:limit:)`,
    ///   `TransportError.underlying(_:)` for bytes that are not exactly one frame,
    ///   `TransportError.peerUnreachable(_:)` when nobody accepts at the peer's path, and
    ///   `TransportError.sendTimedOut(_:after:)` when its queue stays full for the send timeout.
    public func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError) {
        guard state.withLock({ $0.phase == .running }) else { throw .notRunning }
        guard bytes.count <= limits.maximumMessageSize else {
            throw .messageTooLarge(size: bytes.count, limit: limits.maximumMessageSize)
        }
        try Self.checkIsOneFrame(bytes)
        _ = try Self.path(of: peer)
        // Fast path: the peer is up and its queue has room.
        if try enqueueIfPossible(bytes, to: peer) { return }
        let deadline = timebase.now + options.sendTimeout
        let timer = Task { [self] in
            try await timebase.sleep(until: deadline)
            timeOutWaiters(for: peer)
        }
        defer { timer.cancel() }
        while true {
            let id = state.withLock { state in
                state.nextWaiterID += 1
                return state.nextWaiterID
            }
            let result = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let (immediate, wake) = register(Waiter(id: id, continuation: continuation), bytes, to: peer, deadline: deadline)
                    if wake { Posix.signal(wakePipe) }
                    if let immediate { continuation.resume(returning: immediate) }
                }
            } onCancel: {
                resumeWaiter(id, for: peer, with: .failure(.notRunning))
            }
            if try result.get() { return }
        }
    }

    /// Inbound messages and peer events, for one consumer; finishes after ``shutdown()``.
    public var events: TransportEvents {
        TransportEvents { [self] in await nextEvent() }
    }

    /// Fails waiting sends, flushes accepted ones for a bounded time, closes every socket, removes
    /// the socket file and finishes ``events``. Idempotent; when it returns, the address is free.
    public func shutdown() async {
        let (waiters, receiver, threadRunning) = state.withLock { state in
            let waiters = state.links.values.flatMap(\.waiters)
            let receiver = state.receiver
            if state.phase == .running { state.phase = .stopping }
            if state.phase == .idle { state.phase = .stopped; state.threadExited = true }
            // Sends still waiting fail; what was queued stays, for the I/O thread to flush.
            for peer in state.links.keys { state.links[peer]?.waiters.removeAll() }
            state.inbox.removeAll()
            state.inboxHead = 0
            state.receiver = nil
            return (waiters, receiver, !state.threadExited)
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.notRunning)) }
        receiver?.resume(returning: nil)
        guard threadRunning else { return }
        Posix.signal(wakePipe)
        // The I/O thread flushes what sends accepted (for a bounded time), closes every socket and
        // removes the socket file, then resumes us: once shutdown returns, the address is free.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state -> Bool in
                if state.threadExited { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if exited { continuation.resume() }
        }
    }

    // MARK: - Sending

    /// A stream transport can carry only whole frames: a receiver finds the next one from the current one's length.
    private static func checkIsOneFrame(_ bytes: [UInt8]) throws(TransportError) {
        guard bytes.count >= Frame.headerSize,
              let header = try? Frame.Header.parse(bytes[0..<Frame.headerSize], maximumPayloadSize: Int(UInt32.max)),
              header.frameSize == bytes.count
        else { throw .underlying("the unix transport sends whole frames only; these \(bytes.count) bytes are not one") }
    }

    private func enqueueIfPossible(_ bytes: [UInt8], to peer: TransportAddress) throws(TransportError) -> Bool {
        let queued = try state.withLock { state throws(TransportError) -> Bool in
            guard state.phase == .running else { throw .notRunning }
            guard let link = state.links[peer], link.status == .up, link.queue.count < options.queueCapacity else { return false }
            state.links[peer]!.queue.append(bytes)
            return true
        }
        if queued { Posix.signal(wakePipe) }
        return queued
    }

    /// Queues the message if it can, else records the waiter (and asks for a connection if the peer is down).
    /// Returns the result to resume with at once, if any, and whether to wake the I/O thread.
    private func register(_ waiter: Waiter, _ bytes: [UInt8], to peer: TransportAddress,
                          deadline: Duration) -> (Result<Bool, TransportError>?, Bool) {
        state.withLock { state in
            guard state.phase == .running else { return (.failure(.notRunning), false) }
            // Cancelled before this waiter existed: the cancellation handler found nothing to resume.
            if Task.isCancelled { return (.failure(.notRunning), false) }
            var link = state.links[peer] ?? Link()
            defer { state.links[peer] = link }
            if link.status == .up && link.queue.count < options.queueCapacity {
                link.queue.append(bytes)
                return (.success(true), true)
            }
            if timebase.now >= deadline {
                return (.failure(link.status == .up ? .sendTimedOut(peer, after: options.sendTimeout) : .peerUnreachable(peer)), false)
            }
            switch link.status {
            case .up, .connecting:
                link.waiters.append(waiter)
                return (nil, false)
            case .down:
                link.status = .connecting
                link.waiters.append(waiter)
                return (nil, true)
            }
        }
    }

    private func resumeWaiter(_ id: UInt64, for peer: TransportAddress, with result: Result<Bool, TransportError>) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.links[peer]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.links[peer]!.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: result)
    }

    /// At a send's deadline: every waiter of the peer whose deadline has passed gives up.
    private func timeOutWaiters(for peer: TransportAddress) {
        // Waiters are resumed to look again; `register` sees the deadline passed and fails them.
        let waiters = state.withLock { state -> [Waiter] in
            defer { state.links[peer]?.waiters.removeAll() }
            return state.links[peer]?.waiters ?? []
        }
        for waiter in waiters { waiter.continuation.resume(returning: .success(false)) }
    }

    // MARK: - Receiving

    private func nextEvent() async -> TransportEvent? {
        await withCheckedContinuation { (continuation: CheckedContinuation<TransportEvent?, Never>) in
            let (ready, event, wake) = state.withLock { state -> (Bool, TransportEvent?, Bool) in
                if let (event, wake) = Self.takeEvent(&state, capacity: options.queueCapacity) { return (true, event, wake) }
                guard state.phase == .running else { return (true, nil, false) }
                precondition(state.receiver == nil, "UnixSocketTransport.events supports one consumer at a time")
                state.receiver = continuation
                return (false, nil, false)
            }
            if wake { Posix.signal(wakePipe) }
            if ready { continuation.resume(returning: event) }
        }
    }

    /// Takes the oldest event; says whether its connection just dropped below capacity (the I/O thread must read it again).
    private static func takeEvent(_ state: inout State, capacity: Int) -> (TransportEvent, Bool)? {
        guard state.inboxHead < state.inbox.count else { return nil }
        let (event, connection) = state.inbox[state.inboxHead]
        state.inboxHead += 1
        if state.inboxHead > 1024 && state.inboxHead * 2 > state.inbox.count {
            state.inbox.removeFirst(state.inboxHead)
            state.inboxHead = 0
        }
        guard let connection, let count = state.undelivered[connection] else { return (event, false) }
        state.undelivered[connection] = count > 1 ? count - 1 : nil
        return (event, count == capacity)
    }

    /// Delivers an event from the I/O thread: to the waiting consumer, or into the inbox.
    /// Returns whether `connection` has reached its capacity and must not be read for now.
    @discardableResult
    func deliver(_ event: TransportEvent, from connection: Int? = nil) -> Bool {
        let (receiver, paused) = state.withLock { state -> (CheckedContinuation<TransportEvent?, Never>?, Bool) in
            guard state.phase == .running else { return (nil, false) }
            if let receiver = state.receiver, state.inboxHead == state.inbox.count {
                state.receiver = nil
                return (receiver, false)
            }
            state.inbox.append((event, connection))
            guard let connection else { return (nil, false) }
            state.undelivered[connection, default: 0] += 1
            return (nil, state.undelivered[connection]! >= options.queueCapacity)
        }
        receiver?.resume(returning: event)
        return paused
    }

    // MARK: - Called by the I/O thread

    /// The outbound connection to `peer` is established: report it up and let its waiting sends queue.
    func connected(_ peer: TransportAddress) {
        let waiters = state.withLock { state -> [Waiter] in
            state.links[peer, default: Link()].status = .up
            defer { state.links[peer]?.waiters.removeAll() }
            return state.links[peer]?.waiters ?? []
        }
        deliver(.peerUp(peer))
        for waiter in waiters { waiter.continuation.resume(returning: .success(false)) }
    }

    /// Nobody accepts at `peer`: its waiting sends fail at once.
    func connectFailed(_ peer: TransportAddress) {
        let waiters = state.withLock { state -> [Waiter] in
            guard var link = state.links[peer] else { return [] }
            link.status = .down
            defer { state.links[peer] = Link() }
            return link.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.peerUnreachable(peer))) }
    }

    /// The outbound connection to `peer` broke: report it down; what was queued for it is lost.
    func disconnected(_ peer: TransportAddress) {
        let waiters = state.withLock { state -> [Waiter] in
            defer { state.links[peer] = Link() }
            return state.links[peer]?.waiters ?? []
        }
        deliver(.peerDown(peer))
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.peerUnreachable(peer))) }
    }

    /// The next message queued for `peer`; taking it makes room for one waiting send.
    func takeQueued(for peer: TransportAddress) -> [UInt8]? {
        let (message, waiter) = state.withLock { state -> ([UInt8]?, Waiter?) in
            guard var link = state.links[peer], !link.queue.isEmpty else { return (nil, nil) }
            let message = link.queue.removeFirst()
            let waiter = link.waiters.isEmpty ? nil : link.waiters.removeFirst()
            state.links[peer] = link
            return (message, waiter)
        }
        waiter?.continuation.resume(returning: .success(false))
        return message
    }

    /// The I/O thread has closed every socket: the endpoint is stopped and its address free.
    func ioThreadExited() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.phase = .stopped
            state.threadExited = true
            defer { state.exitWaiters.removeAll() }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
