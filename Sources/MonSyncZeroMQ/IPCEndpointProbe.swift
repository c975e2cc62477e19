#if ZeroMQ
import Glibc

/// Whether a process is listening on the Unix-domain socket at `path`.
///
/// libzmq's `zmq_bind` on an `ipc://` endpoint unlinks an existing socket file
/// and binds anew, silently stealing the address from a live node. The transport
/// contract says a second listener on an address fails with `bindFailed`, so
/// before binding we try to connect: success means someone serves the path;
/// `ECONNREFUSED` or `ENOENT` means the file is stale or absent and may be replaced.
func unixSocketIsListening(at path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let length = socklen_t(MemoryLayout<sockaddr_un>.size)
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) == 0 }
    }
}
#endif
