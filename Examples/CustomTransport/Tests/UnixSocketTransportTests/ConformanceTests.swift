import Foundation
import MonSyncCore
import MonSyncMessages
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
@Test(.timeLimit(.minutes(1))) func factoryServesUnixURLs() async throws {
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
@Test(.timeLimit(.minutes(1))) func staleSocketFileIsReplaced() async throws {
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

/// Strangers writing to the socket file (garbage, a hello followed by a corrupt frame) are cut off
/// without disturbing the endpoint or its real peers.
@Test(.timeLimit(.minutes(1))) func strangersWritingGarbageAreCutOff() async throws {
    let directory = try makeSocketDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let a = try UnixSocketTransport(address: TransportAddress("unix://\(directory)/a.sock"))
    let b = try UnixSocketTransport(address: TransportAddress("unix://\(directory)/b.sock"))
    try await a.start()
    try await b.start()

    var hello = Frame.encode(type: MessageType(0xFFF0), version: 1, compatVersion: 1) { $0.encode("unix://\(directory)/x.sock") }
    var corrupt = MessageCodec.monitor().encode(MMonSync(op: .heartbeat))
    corrupt[corrupt.count - 1] ^= 0xFF  // breaks the CRC
    hello += corrupt
    var rng = SeededRandomNumberGenerator(seed: 1)
    for bytes in [(0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }, hello] {
        try writeRaw(bytes, to: b.localAddress.location)
    }
    try await Task.sleep(for: .milliseconds(200))  // b has read and refused both by now

    // Had a stranger's frame been delivered, it would be the first event: a's message must be.

    let frame = MessageCodec.monitor().encode(MMonSync(op: .heartbeat, session: 5))
    try await a.send(frame, to: b.localAddress)
    var events = b.events.makeAsyncIterator()
    guard case let .message(message)? = await events.next() else {
        Issue.record("expected the message from a")
        return
    }
    #expect(message.sender == a.localAddress)
    #expect(message.bytes == frame)
    await a.shutdown()
    await b.shutdown()
}

/// Connects to the socket at `path`, writes `bytes`, and closes.
private func writeRaw(_ bytes: [UInt8], to path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { throw TransportError.underlying("connect: \(errno)") }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw TransportError.underlying("write: \(errno)") }
}

/// A short private directory for socket files (a `sockaddr_un` path holds at most 107 bytes).
private func makeSocketDirectory() throws -> String {
    let directory = "/tmp/monsync-unix-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}
