#if ZeroMQ
import CZeroMQ
import Dispatch
import Glibc
import MonSyncCore
import Synchronization

/// The ZeroMQ authentication handler (ZAP, ZeroMQ RFC 27) of one libzmq context: libzmq asks it,
/// during every CURVE handshake on a server socket, whether the client's public key may connect.
///
/// One REP socket bound at `inproc://zeromq.zap.01`, on a thread of its own. Each secured
/// transport of the context registers an authorizer under its own ZAP domain; a request is
/// answered by the authorizer of its domain (no authorizer, no admission). An admitted key's
/// Z85 text becomes the connection's `User-Id`, which the transport reads from every message it
/// receives: a peer's identity comes from the key it proved it holds, not from what it claims.
///
/// `@unchecked Sendable`: the socket is created, used and closed by the handler's thread only;
/// the authorizers are behind a lock and the stop flag is atomic.
final class ZAPHandler: @unchecked Sendable {
    /// Decides whether a Z85 public key may connect.
    typealias Authorizer = @Sendable (_ publicKey: String) -> Bool

    static let endpoint = "inproc://zeromq.zap.01"

    private let context: UnsafeMutableRawPointer
    private let authorizers = LockedState<[String: Authorizer]>([:])
    private let stopping = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    private init(context: UnsafeMutableRawPointer) { self.context = context }

    /// Starts a handler on `context`'s ZAP endpoint; returns once it is bound (or failed to bind).
    static func start(on context: UnsafeMutableRawPointer) throws(TransportError) -> ZAPHandler {
        let handler = ZAPHandler(context: context)
        let bound = LockedState<Result<Void, TransportError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(handler: handler, bound: bound, ready: ready))
        let rc = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            monsync_set_thread_name("monsync-zap")
            box.handler.run(bound: box.bound, ready: box.ready)
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw .underlying("pthread_create: \(String(cString: strerror(rc)))")
        }
        pthread_detach(thread)
        ready.wait()
        if case let .failure(error)? = bound.withLock({ $0 }) { throw error }
        return handler
    }

    private final class Box {
        let handler: ZAPHandler
        let bound: LockedState<Result<Void, TransportError>?>
        let ready: DispatchSemaphore
        init(handler: ZAPHandler, bound: LockedState<Result<Void, TransportError>?>, ready: DispatchSemaphore) {
            self.handler = handler
            self.bound = bound
            self.ready = ready
        }
    }

    /// Answers requests of ZAP domain `domain` with `authorizer`.
    func register(domain: String, _ authorizer: @escaping Authorizer) {
        authorizers.withLock { $0[domain] = authorizer }
    }

    func unregister(domain: String) {
        _ = authorizers.withLock { $0.removeValue(forKey: domain) }
    }

    /// Stops the thread and waits until it has closed its socket (before the context is terminated).
    func stop() {
        stopping.store(true, ordering: .releasing)
        exited.wait()
    }

    private func run(bound: LockedState<Result<Void, TransportError>?>, ready: DispatchSemaphore) {
        defer { exited.signal() }
        guard let socket = zmq_socket(context, ZMQ_REP) else {
            bound.withLock { $0 = .failure(.underlying("zmq_socket(REP): \(String(cString: zmq_strerror(zmq_errno())))")) }
            ready.signal()
            return
        }
        var linger: Int32 = 0
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(socket, Self.endpoint) == 0 else {
            bound.withLock { $0 = .failure(.underlying("zmq_bind(\(Self.endpoint)): \(String(cString: zmq_strerror(zmq_errno())))")) }
            zmq_close(socket)
            ready.signal()
            return
        }
        bound.withLock { $0 = .success(()) }
        ready.signal()
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer {
            message.deallocate()
            zmq_close(socket)
        }
        while !stopping.load(ordering: .acquiring) {
            var item = zmq_pollitem_t(socket: socket, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0)
            // A short timeout: the stop flag is checked at least this often.
            let rc = zmq_poll(&item, 1, 100)
            if rc < 0 && zmq_errno() != EINTR { return }
            guard rc > 0 else { continue }
            let frames = receive(from: socket, into: message)
            guard !frames.isEmpty else { continue }
            send(reply(to: frames), on: socket)
        }
    }

    /// Every frame of one request (a REP socket delivers whole messages).
    private func receive(from socket: UnsafeMutableRawPointer, into message: UnsafeMutablePointer<zmq_msg_t>) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        repeat {
            zmq_msg_init(message)
            guard zmq_msg_recv(message, socket, ZMQ_DONTWAIT) >= 0 else {
                zmq_msg_close(message)
                return frames
            }
            let size = zmq_msg_size(message)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: size)))
            let more = zmq_msg_more(message) != 0
            zmq_msg_close(message)
            if !more { break }
        } while frames.count < 16
        return frames
    }

    /// ZAP 1.0: `[version, request id, domain, address, routing id, mechanism, credentials…]` →
    /// `[version, request id, status code, status text, user id, metadata]`.
    private func reply(to frames: [[UInt8]]) -> [[UInt8]] {
        let requestID = frames.count > 1 ? frames[1] : []
        func answer(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else { return answer("500", "malformed ZAP request") }
        let domain = String(decoding: frames[2], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        guard let authorizer = authorizers.withLock({ $0[domain] }) else {
            // Not a secured transport's domain: a plaintext transport of the same context. Once a
            // handler is bound, libzmq asks it about NULL handshakes too; they stay as they were.
            return mechanism == "NULL" ? answer("200", "OK") : answer("400", "no keyring for this domain")
        }
        guard mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 else {
            return answer("400", "CURVE only")
        }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, frames[6], 32) != nil else { return answer("500", "cannot encode the key") }
        let publicKey = CurveKeyPair.text(text)
        guard authorizer(publicKey) else { return answer("400", "unknown key") }
        return answer("200", "OK", user: publicKey)
    }

    private func send(_ frames: [[UInt8]], on socket: UnsafeMutableRawPointer) {
        for (index, frame) in frames.enumerated() {
            let flags = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            _ = frame.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
        }
    }
}
#endif
