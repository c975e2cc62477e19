#if ZeroMQ
import Foundation
import Glibc
import MonSyncCore
import MonSyncTestSupport
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
#endif
