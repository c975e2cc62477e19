import MonSyncCore
import MonSyncLoopback
import MonSyncTransportConformance
import XCTest

/// The kit needs no particular test framework: the same checks, driven from XCTest.
final class XCTestUsageTests: XCTestCase {
    func testLoopbackConformsWhenDrivenFromXCTest() async {
        let network = LoopbackNetwork()
        let kit = TransportConformance(
            name: "loopback",
            makeAddress: { try TransportAddress("loopback://xctest-\($0)") },
            makeTransport: { LoopbackTransport(address: $0, network: network, options: $1) })
        let failures = await kit.runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }
}
