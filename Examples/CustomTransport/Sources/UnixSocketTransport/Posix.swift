#if canImport(Glibc)
import Glibc
#else
#error("The UnixSocketTransport example is written against Linux's Glibc.")
#endif

/// The handful of POSIX calls the transport makes, each returning a Swift value instead of `-1` and `errno`.
///
/// Every socket is non-blocking and close-on-exec: only the I/O thread waits, and it waits in `poll`.
enum Posix {
    /// An error number with its text, as `strerror` gives it.
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// The longest path a `sockaddr_un` holds (its `sun_path` less the terminating NUL).
    static let maximumPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    static func unixStreamSocket() throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }
        return fd
    }

    /// Calls `body` with `path` as a `sockaddr_un`.
    private static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(maximumPathLength))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A listening socket bound to `path`.
    static func listen(at path: String) throws(Failure) -> Int32 {
        let fd = try unixStreamSocket()
        if withAddress(path, { Glibc.bind(fd, $0, $1) }) != 0 {
            let code = errno
            close(fd)
            throw Failure(call: "bind", code: code)
        }
        if Glibc.listen(fd, 128) != 0 {
            let code = errno
            close(fd)
            throw Failure(call: "listen", code: code)
        }
        return fd
    }

    /// A socket connected to the listener at `path`. A Unix-domain connect completes at once or fails.
    static func connect(to path: String) throws(Failure) -> Int32 {
        let fd = try unixStreamSocket()
        if withAddress(path, { Glibc.connect(fd, $0, $1) }) != 0 {
            let code = errno
            close(fd)
            throw Failure(call: "connect", code: code)
        }
        return fd
    }

    /// A connection waiting on `listener`, or `nil` when there is none.
    static func accept(_ listener: Int32) -> Int32? {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        setNonBlockingAndCloseOnExec(fd)
        return fd
    }

    private static func setNonBlockingAndCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
    }

    /// What a non-blocking read or write did.
    enum IO {
        case transferred(Int)
        case wouldBlock
        case closed
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IO {
        let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if count > 0 { return .transferred(count) }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .wouldBlock }
        return .closed  // end of stream, or an error such as ECONNRESET
    }

    /// Writes without raising `SIGPIPE` when the peer is gone (`MSG_NOSIGNAL`).
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IO {
        let count = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        if count >= 0 { return .transferred(count) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .closed
    }

    /// A pipe that wakes the I/O thread out of `poll`: any thread writes a byte to `write`, the thread drains `read`.
    ///
    /// Both ends stay open for the transport's whole life, so a late wake-up never writes to a closed pipe.
    struct WakePipe {
        var read: Int32
        var write: Int32
    }

    static func makeWakePipe() throws(Failure) -> WakePipe {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Failure(call: "pipe", code: errno) }
        for fd in fds { setNonBlockingAndCloseOnExec(fd) }
        return WakePipe(read: fds[0], write: fds[1])
    }

    static func signal(_ pipe: WakePipe) {
        var byte: UInt8 = 1
        _ = Glibc.write(pipe.write, &byte, 1)  // a full pipe already holds a wake-up: ignore EAGAIN
    }

    static func drain(_ pipe: WakePipe) {
        var bytes = [UInt8](repeating: 0, count: 64)
        while Glibc.read(pipe.read, &bytes, bytes.count) > 0 {}
    }

    /// Runs `body` on a new detached POSIX thread, outside Swift's cooperative pool.
    static func spawnThread(_ body: @escaping () -> Void) throws(Failure) {
        final class Box {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw Failure(call: "pthread_create", code: code)
        }
        pthread_detach(thread)
    }
}

extension Posix {
    static func closeDescriptor(_ fd: Int32) { _ = Glibc.close(fd) }
}
