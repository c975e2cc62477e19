#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A TCP port on 127.0.0.1 that was free a moment ago, for a node a test is about to start.
///
/// Ports are handed out *below* the kernel's ephemeral range (`ip_local_port_range`, 32768–60999 by
/// default), each checked by binding it. Ports in that range are what the kernel hands out for
/// `bind` to port 0 and as the source port of every outgoing connection, so one picked there can be
/// taken — by a connection another test's client opens — between this check and the node's own
/// bind. Below the range, ports are taken in turn from a random start, never twice in one test
/// process until the range is used up: a port picked at random again and again would, within one
/// run, be given to a new node while a DEALER of an earlier test still reconnects to it, and that
/// stale peer would then talk to the wrong node. When the range leaves no room below it, the kernel
/// picks (bound to port 0, then closed).
public func freeTCPPort() -> Int {
    let floor = 10_000
    let ephemeralStart = ephemeralPortRangeStart() ?? 32_768
    let span = ephemeralStart - floor
    if span >= 1_000 {
        for _ in 0..<1_000 {
            let port = floor + nextPortOffset.add(1, ordering: .relaxed).newValue % span
            if bindLoopback(port: port) != nil { return port }
        }
    }
    guard let port = bindLoopback(port: 0) else { preconditionFailure("bind() to port 0 failed") }
    return port
}

/// The next port below the ephemeral range, as an offset from its floor: a random start per test process.
private let nextPortOffset = Atomic<Int>(Int.random(in: 0..<20_000))

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
