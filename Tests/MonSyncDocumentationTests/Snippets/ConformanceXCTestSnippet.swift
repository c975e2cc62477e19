import MonSyncCore
import MonSyncTransportConformance
import XCTest

// The article WritingATransport.md (MonSyncCore.docc): the conformance kit under XCTest, through
// the article's factory. The block there is a copy of the marked lines.

// snippet: conformance-xctest
final class MyTransportConformanceTests: XCTestCase {
    func testConformance() async {
        let kit = TransportConformance(name: "mine", factory: MyTransportFactory(),
                                       makeAddress: { try TransportAddress("mine://xctest-\($0)") })
        let failures = await kit.runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }
}
// snippet: end
