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

    /// The whole kit, and the authentication checks, with CURVE on: every transport's key is in
    /// one shared keyring (a node restarted at an address keeps its key); a stranger has a valid
    /// key that nobody admits.
    @Test(arguments: ["tcp", "ipc"], ConformanceCheck.allCases + ConformanceCheck.authenticationChecks)
    func secured(scheme: String, check: ConformanceCheck) async throws {
        let run = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let assigned = LockedState<[String: TransportAddress]>([:])
        let keyring = CurveKeyring()
        let keys = LockedState<[TransportAddress: CurveKeyPair]>([:])
        // A context of its own (its own libzmq I/O thread and ZAP handler): CURVE's encryption of
        // the kit's 64 MiB messages does not hold up the other suites' transports meanwhile.
        let context = ZeroMQContext()
        @Sendable func configuration(_ keyPair: CurveKeyPair) -> ZeroMQConfiguration {
            ZeroMQConfiguration(linger: .seconds(5), security: ZeroMQSecurity(keyPair: keyPair, keyring: keyring))
        }
        var kit = TransportConformance(
            name: "zeromq-\(scheme)-curve",
            makeAddress: { name in
                try assigned.withLock { table throws(TransportError) -> TransportAddress in
                    if let address = table[name] { return address }
                    let address = scheme == "tcp" ? try TransportAddress("tcp://127.0.0.1:\(freeTCPPort())")
                        : try TransportAddress("ipc:///tmp/monsync-kit-curve-\(run)-\(name).sock")
                    table[name] = address
                    return address
                }
            },
            makeTransport: { address, options in
                let keyPair = try keys.withLock { (keys) throws(TransportError) -> CurveKeyPair in
                    if let known = keys[address] { return known }
                    let fresh = try CurveKeyPair.generate()
                    keys[address] = fresh
                    return fresh
                }
                try keyring.admit(PeerIdentity(name: address.description, role: .monitor, credential: keyPair.publicKey))
                try keyring.bind(address, to: keyPair.publicKey)
                return try ZeroMQTransport(address: address, options: options, configuration: configuration(keyPair), context: context)
            })
        kit.authentication = TransportConformance.Authentication { address, options in
            try ZeroMQTransport(address: address, options: options, configuration: configuration(try CurveKeyPair.generate()), context: context)
        }
        try await kit.run(check)
    }
}
#endif
