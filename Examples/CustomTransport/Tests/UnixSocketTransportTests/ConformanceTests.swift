import Foundation
import MonSyncCore
import MonSyncTransportConformance
import Testing
import UnixSocketTransport

/// Every check of the MonSync transport conformance kit, each against fresh endpoints in a fresh directory.
@Test(arguments: ConformanceCheck.allCases)
func conformance(_ check: ConformanceCheck) async throws {
    let directory = try makeSocketDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let kit = TransportConformance(
        name: "unix",
        makeAddress: { name in try TransportAddress("unix://\(directory)/\(name).sock") },
        makeTransport: { address, options in try UnixSocketTransport(address: address, options: options) })
    try await kit.run(check)
}

/// The registry path: the factory makes the transport from a URL, and refuses what it cannot serve.
@Test func factoryServesUnixURLs() async throws {
    var registry = TransportRegistry()
    registry.register(UnixSocketTransportFactory())
    #expect(registry.schemes == ["unix"])
    #expect(throws: TransportError.self) { try registry.makeTransport(listeningOn: "tcp://127.0.0.1:7001") }
    #expect(throws: TransportError.self) { try registry.makeTransport(listeningOn: "unix://relative/path.sock") }

    let directory = try makeSocketDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let kit = TransportConformance(name: "unix via registry", factory: UnixSocketTransportFactory(),
                                   makeAddress: { try TransportAddress("unix://\(directory)/\($0).sock") })
    let failures = await kit.runAll([.exchangeBothWays])
    #expect(failures.isEmpty, "\(failures)")
}

/// A socket file left behind by a process that died is replaced; the endpoint starts.
@Test func staleSocketFileIsReplaced() async throws {
    let directory = try makeSocketDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let address = try TransportAddress("unix://\(directory)/stale.sock")
    // A bound socket that never listens stands for a dead process's leftover.
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var socketAddress = sockaddr_un()
    socketAddress.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: Array(address.location.utf8) + [0]) }
    let bound = withUnsafePointer(to: &socketAddress) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    #expect(bound == 0)
    close(fd)
    #expect(FileManager.default.fileExists(atPath: address.location))

    let transport = try UnixSocketTransport(address: address)
    try await transport.start()
    await transport.shutdown()
    #expect(!FileManager.default.fileExists(atPath: address.location), "shutdown removes the socket file")
}

/// A short private directory for socket files (a `sockaddr_un` path holds at most 107 bytes).
private func makeSocketDirectory() throws -> String {
    let directory = "/tmp/monsync-unix-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}
