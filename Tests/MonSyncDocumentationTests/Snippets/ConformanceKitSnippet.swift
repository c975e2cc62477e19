// The article WritingATransport.md (MonSyncCore.docc): the conformance kit under Swift Testing,
// run here against the article's `MyTransport`. The block there is a copy of the marked lines.

// snippet: conformance-swift-testing
import MonSyncCore
import MonSyncTransportConformance
import Testing

@Test(arguments: ConformanceCheck.allCases)
func conformance(_ check: ConformanceCheck) async throws {
    let kit = TransportConformance(
        name: "mine",
        makeAddress: { name in try TransportAddress("mine://\(check)-\(name)") },
        makeTransport: { address, options in try MyTransport(address: address, options: options) })
    try await kit.run(check)
}
// snippet: end
