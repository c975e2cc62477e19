import MonSyncCore
import MonSyncLoopback
import MonSyncTransportConformance
import Testing

/// The conformance kit against the in-process loopback transport: each check on a network of its own.
@Suite("Loopback transport conformance", .serialized)
struct LoopbackConformanceTests {
    @Test(arguments: ConformanceCheck.allCases)
    func conformance(_ check: ConformanceCheck) async throws {
        let network = LoopbackNetwork()
        let kit = TransportConformance(
            name: "loopback",
            makeAddress: { name in try TransportAddress("loopback://\(check.rawValue)-\(name)") },
            makeTransport: { address, options in
                LoopbackTransport(address: address, network: network, options: options)
            })
        try await kit.run(check)
    }

    @Test func registryFactoryConforms() async throws {
        // Through a factory, as a program that picks its transport from a URL would make it.
        let network = LoopbackNetwork()
        let kit = TransportConformance(name: "loopback via factory", factory: LoopbackTransportFactory(network: network),
                                       makeAddress: { try TransportAddress("loopback://factory-\($0)") })
        let failures = await kit.runAll([.exchangeBothWays, .peerRestart])
        #expect(failures.isEmpty, "\(failures)")
    }
}
