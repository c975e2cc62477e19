#if ZeroMQ
import Foundation
import Glibc
import MonSyncCore
import MonSyncTransportConformance
import MonSyncZeroMQ
import Testing

/// The conformance kit against the ZeroMQ transport, over each of its schemes.
@Suite("ZeroMQ transport conformance", .serialized)
struct ZeroMQConformanceTests {
    @Test(arguments: ["tcp", "ipc", "inproc"], ConformanceCheck.allCases)
    func conformance(scheme: String, check: ConformanceCheck) async throws {
        let run = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // One address per logical node name, so a restarted node comes back at the same address.
        let assigned = LockedState<[String: TransportAddress]>([:])
        let kit = TransportConformance(
            name: "zeromq-\(scheme)",
            makeAddress: { name in
                try assigned.withLock { table throws(TransportError) -> TransportAddress in
                    if let address = table[name] { return address }
                    let address: TransportAddress
                    switch scheme {
                    case "tcp": address = try TransportAddress("tcp://127.0.0.1:\(freeTCPPort())")
                    case "ipc": address = try TransportAddress("ipc:///tmp/monsync-kit-\(run)-\(name).sock")
                    default: address = try TransportAddress("inproc://kit-\(run)-\(name)")
                    }
                    table[name] = address
                    return address
                }
            },
            // gracefulShutdown asserts that everything a send accepted arrives; libzmq flushes a closing
            // socket for at most the linger, and the default 200 ms is not always enough while the whole
            // suite runs in parallel on 2 cores (a CI run delivered 190 of 200; with 1 s, a run beside a
            // CPU-bound job on both cores delivered 112). A longer linger in the tests bounds flushing,
            // not correctness: a socket with nothing queued closes at once.
            makeTransport: { address, options in
                try ZeroMQTransport(address: address, options: options, configuration: ZeroMQConfiguration(linger: .seconds(5)))
            })
        try await kit.run(check)
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
private func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    precondition(bound, "bind() failed")
    return Int(UInt16(bigEndian: address.sin_port))
}
#endif
