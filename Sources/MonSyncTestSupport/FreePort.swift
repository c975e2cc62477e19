#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A TCP port on 127.0.0.1 that was free a moment ago, for a node a test is about to start.
///
/// The port is picked at random *below* the kernel's ephemeral range (`ip_local_port_range`,
/// 32768–60999 by default) and checked by binding it. Ports in that range are what the kernel hands
/// out for `bind` to port 0 and as the source port of every outgoing connection, so one picked
/// there can be taken — by a connection another test's client opens — between this check and the
/// node's own bind, and the node then fails with "address in use". Below the range nothing takes a
/// port unless it asks for that port. When the range leaves no room below it, the kernel picks
/// (bound to port 0, then closed), as before.
public func freeTCPPort() -> Int {
    let floor = 10_000
    let ephemeralStart = ephemeralPortRangeStart() ?? 32_768
    if ephemeralStart - floor >= 1_000 {
        for _ in 0..<1_000 {
            let port = Int.random(in: floor..<ephemeralStart)
            if bindLoopback(port: port) != nil { return port }
        }
    }
    guard let port = bindLoopback(port: 0) else { preconditionFailure("bind() to port 0 failed") }
    return port
}

/// The first port of `net.ipv4.ip_local_port_range`, if it can be read.
private func ephemeralPortRangeStart() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else { return nil }
    return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
}

/// Binds a POSIX socket to 127.0.0.1:`port` (0: any) and closes it; the port bound, or `nil` if it is taken.
private func bindLoopback(port: Int) -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}
