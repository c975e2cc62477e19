#if canImport(MonSyncUnixSocketExample)
import Foundation
import MonSyncCore
import MonSyncTransportConformance
import MonSyncUnixSocketExample
import Testing

/// The conformance kit against the Unix-domain socket transport of Examples/CustomTransport,
/// compiled into this package from the example's own sources.
@Suite("Unix socket transport conformance", .serialized)
struct UnixSocketConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        let directory = "/tmp/monsync-kit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kit = TransportConformance(
            name: "unix",
            makeAddress: { name in try TransportAddress("unix://\(directory)/\(name).sock") },
            makeTransport: { address, options in try UnixSocketTransport(address: address, options: options) })
        try await kit.run(check)
    }
}
#endif
