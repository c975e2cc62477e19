#if canImport(Glibc)
import Glibc
#endif
import MonSyncCore

/// The I/O thread of one ``UnixSocketTransport``: the only code that touches its sockets.
///
/// Each turn of the loop reads the shared state once (under the mutex) to learn
/// what to do, waits in `poll(2)` for the sockets to be ready, then moves bytes:
/// accepts and reads inbound connections, connects and writes outbound ones.
/// It never blocks anywhere but in `poll`, and every async caller that changes
/// the state wakes it through a pipe.
final class IOLoop {
    /// A connection a peer opened to us: we only read from it.
    private struct Inbound {
        var id: Int
        var decoder: FrameStreamDecoder
        /// Learnt from the hello frame; `nil` until then.
        var sender: TransportAddress?
    }

    /// A connection we opened to a peer: we only write to it (and read, to notice that it closed).
    private struct Outbound {
        var fd: Int32
        /// The frame being written and how much of it is out.
        var pending: [UInt8] = []
        var written = 0
    }

    /// Background reconnection to a peer that went down.
    private struct Retry {
        var at: ContinuousClock.Instant
        var interval: Duration
    }

    /// The hello frame's message type, outside the range the protocol uses.
    static let helloType = MessageType(0xFFF0)

    private let transport: UnixSocketTransport
    private let listener: Int32
    private let capacity: Int
    private var inbound: [Int32: Inbound] = [:]
    private var outbound: [TransportAddress: Outbound] = [:]
    private var retries: [TransportAddress: Retry] = [:]
    private var nextConnectionID = 0
    private var scratch = [UInt8](repeating: 0, count: 256 << 10)
    private let clock = ContinuousClock()

    init(transport: UnixSocketTransport, listener: Int32) {
        self.transport = transport
        self.listener = listener
        capacity = transport.options.queueCapacity
    }

    /// What the shared state asks of the I/O thread this turn.
    private struct Plan {
        var stopping = false
        var connect: [TransportAddress] = []
        var hasQueued: Set<TransportAddress> = []
        var paused: Set<Int> = []
    }

    private func plan() -> Plan {
        transport.state.withLock { state in
            var plan = Plan(stopping: state.phase != .running)
            for (peer, link) in state.links {
                if link.status == .connecting { plan.connect.append(peer) }
                if !link.queue.isEmpty { plan.hasQueued.insert(peer) }
            }
            plan.paused = Set(state.undelivered.filter { $0.value >= capacity }.keys)
            return plan
        }
    }

    func run() {
        while true {
            let plan = plan()
            if plan.stopping {
                flush()
                break
            }
            for peer in plan.connect { connect(to: peer) }
            for (peer, retry) in retries where retry.at <= clock.now { connect(to: peer) }

            // Build the poll set: the wake fd, the listener, readable inbound connections,
            // and every outbound one (readable means closed; writable when there is something to write).
            var fds = [pollfd(fd: transport.wakePipe.read, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for (fd, connection) in inbound where !plan.paused.contains(connection.id) {
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
            var peers: [Int32: TransportAddress] = [:]
            for (peer, connection) in outbound {
                let writable = !connection.pending.isEmpty || plan.hasQueued.contains(peer)
                fds.append(pollfd(fd: connection.fd, events: Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0), revents: 0))
                peers[connection.fd] = peer
            }
            let timeout = retries.values.map(\.at).min().map { next -> Int32 in
                let wait = clock.now.duration(to: next)
                return wait <= .zero ? 0 : Int32(clamping: wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1)
            } ?? -1
            guard poll(&fds, nfds_t(fds.count), timeout) >= 0 || errno == EINTR else { break }

            for entry in fds where entry.revents != 0 {
                if entry.fd == transport.wakePipe.read {
                    Posix.drain(transport.wakePipe)
                } else if entry.fd == listener {
                    acceptAll()
                } else if let peer = peers[entry.fd] {
                    if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, !stillOpen(entry.fd) {
                        disconnect(peer)
                    } else if entry.revents & Int16(POLLOUT) != 0 {
                        write(to: peer)
                    }
                } else {
                    read(entry.fd)
                }
            }
        }
        closeEverything()
    }

    // MARK: - Outbound

    private func connect(to peer: TransportAddress) {
        guard outbound[peer] == nil, let path = try? UnixSocketTransport.path(of: peer) else { return }
        guard let fd = try? Posix.connect(to: path) else {
            let retry = retries[peer]
            let interval = min((retry?.interval ?? .milliseconds(25)) * 2, .seconds(1))
            // Only peers that were up are retried in the background; for the others, a send asks again.
            if retry != nil { retries[peer] = Retry(at: clock.now + interval, interval: interval) }
            transport.connectFailed(peer)
            return
        }
        retries[peer] = nil
        // The hello frame goes first, so the peer learns who is sending.
        let hello = Frame.encode(type: Self.helloType, version: 1, compatVersion: 1) {
            $0.encode(transport.localAddress.description)
        }
        outbound[peer] = Outbound(fd: fd, pending: hello)
        transport.connected(peer)
    }

    private func write(to peer: TransportAddress) {
        while var connection = outbound.removeValue(forKey: peer) {
            if connection.pending.isEmpty {
                guard let next = transport.takeQueued(for: peer) else {
                    outbound[peer] = connection
                    return
                }
                connection.pending = next
                connection.written = 0
            }
            let result = connection.pending.withUnsafeBytes { bytes in
                Posix.write(connection.fd, UnsafeRawBufferPointer(rebasing: bytes[connection.written...]))
            }
            switch result {
            case let .transferred(count):
                connection.written += count
                if connection.written == connection.pending.count { connection.pending = [] }
                outbound[peer] = connection
            case .wouldBlock:
                outbound[peer] = connection
                return
            case .closed:
                outbound[peer] = connection
                disconnect(peer)
                return
            }
        }
    }

    /// Whether an outbound connection that polled readable is still open (a peer never writes on it).
    private func stillOpen(_ fd: Int32) -> Bool {
        scratch.withUnsafeMutableBytes { buffer in
            if case .closed = Posix.read(fd, into: buffer) { return false }
            return true
        }
    }

    private func disconnect(_ peer: TransportAddress) {
        guard let connection = outbound.removeValue(forKey: peer) else { return }
        Posix.closeDescriptor(connection.fd)
        // A peer that shuts down flushes its messages to us before it closes our connection to it, so they
        // wait in our socket buffer: read them first, for the contract puts its peerDown after its last message.
        for (fd, inboundConnection) in inbound where inboundConnection.sender == peer {
            while read(fd) {}
        }
        retries[peer] = Retry(at: clock.now + .milliseconds(50), interval: .milliseconds(50))
        transport.disconnected(peer)
    }

    // MARK: - Inbound

    private func acceptAll() {
        while let fd = Posix.accept(listener) {
            nextConnectionID += 1
            inbound[fd] = Inbound(id: nextConnectionID,
                                  decoder: FrameStreamDecoder(maximumPayloadSize: max(0, transport.limits.maximumMessageSize - Frame.overhead)))
        }
    }

    /// Reads once from an inbound connection; returns whether more may be waiting.
    @discardableResult
    private func read(_ fd: Int32) -> Bool {
        // Take the connection out of the dictionary while feeding its decoder: a copy left behind
        // would share the decoder's buffer and make every append copy the whole partial frame.
        guard var connection = inbound.removeValue(forKey: fd) else { return false }
        let result = scratch.withUnsafeMutableBytes { Posix.read(fd, into: $0) }
        switch result {
        case .wouldBlock:
            inbound[fd] = connection
            return false
        case .closed:
            // Its messages already in the inbox are still delivered.
            Posix.closeDescriptor(fd)
            return false
        case let .transferred(count):
            do {
                for frame in try connection.decoder.feed(scratch[0..<count]) {
                    if let sender = connection.sender {
                        transport.deliver(.message(InboundMessage(sender: sender, bytes: frame)), from: connection.id)
                    } else if let sender = Self.helloSender(frame) {
                        connection.sender = sender
                    } else {
                        Posix.closeDescriptor(fd)  // not one of us: no hello first
                        return false
                    }
                }
                inbound[fd] = connection
                return true
            } catch {
                // The stream is out of step (a corrupt or oversized frame): nothing after it can be trusted.
                Posix.closeDescriptor(fd)
                return false
            }
        }
    }

    /// The sender's address from a hello frame, or `nil` if `frame` is not one.
    private static func helloSender(_ frame: [UInt8]) -> TransportAddress? {
        guard let (header, payload) = try? Frame.decode(frame[...]), header.type == helloType else { return nil }
        var decoder = WireDecoder(payload)
        guard let text = try? decoder.decodeString(field: "address") else { return nil }
        return try? TransportAddress(text)
    }

    // MARK: - Exit

    /// At shutdown: writes what sends accepted, for at most the send timeout (and never more than a second).
    private func flush() {
        let deadline = clock.now + min(transport.options.sendTimeout, .seconds(1))
        while clock.now < deadline {
            let queued = plan().hasQueued
            var fds: [pollfd] = []
            var peers: [Int32: TransportAddress] = [:]
            for (peer, connection) in outbound where !connection.pending.isEmpty || queued.contains(peer) {
                fds.append(pollfd(fd: connection.fd, events: Int16(POLLOUT), revents: 0))
                peers[connection.fd] = peer
            }
            if fds.isEmpty { return }
            let wait = clock.now.duration(to: deadline)
            let milliseconds = Int32(clamping: wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1)
            guard poll(&fds, nfds_t(fds.count), milliseconds) >= 0 || errno == EINTR else { return }
            for entry in fds where entry.revents != 0 {
                guard let peer = peers[entry.fd] else { continue }
                if entry.revents & Int16(POLLOUT) != 0 { write(to: peer) } else { disconnect(peer) }
            }
        }
    }

    private func closeEverything() {
        // Outbound first: a peer then reads our last messages before it sees us go down.
        for connection in outbound.values { Posix.closeDescriptor(connection.fd) }
        for fd in inbound.keys { Posix.closeDescriptor(fd) }
        Posix.closeDescriptor(listener)
        unlink(transport.path)
        inbound.removeAll()
        outbound.removeAll()
        transport.ioThreadExited()
    }
}
