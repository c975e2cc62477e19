import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol (sd_notify(3)), without libsystemd: one datagram of
/// newline-separated `VARIABLE=value` assignments to the unix socket `$NOTIFY_SOCKET` names.
///
/// A unit with `Type=notify` (Examples/systemd/monsync@.service) counts the node as started when it
/// sends `READY=1` — once it listens and its monitor runs — rather than when the process is
/// created, so units ordered after it start against a monitor that answers. `STOPPING=1` tells
/// systemd a graceful stop has begun. Without `$NOTIFY_SOCKET` (not run by systemd) nothing is sent.
struct SystemdNotifier: Sendable {
    /// The socket's path (`@name` for an abstract socket); `nil` when systemd did not ask for notifications.
    let socketPath: String?

    /// A notifier for the socket `environment`'s `NOTIFY_SOCKET` names.
    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"] ?? ""
        // Only absolute paths and abstract names are sockets; anything else is not systemd's.
        socketPath = path.hasPrefix("/") || path.hasPrefix("@") ? path : nil
    }

    /// Sends `assignments` (`["READY=1", "STATUS=…"]`) as one datagram.
    ///
    /// - Returns: whether it was sent; `true` when there is no socket to send to. A failure is
    ///   the caller's to log: systemd then stops a unit that never became ready, after its timeout.
    @discardableResult
    func notify(_ assignments: [String]) -> Bool {
        guard let socketPath else { return true }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        // An abstract socket's name starts with a NUL byte where the `@` is written.
        let isAbstract = path.first == UInt8(ascii: "@")
        if isAbstract { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path)
        }
        // The path follows the family: its offset is the family's size (sockaddr_un has no padding between).
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (isAbstract ? 0 : 1))
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        return sent == message.count
    }
}
