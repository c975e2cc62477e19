import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import Testing

@Suite("MonMap")
struct MonMapTests {
    @Test("a map from name=url pairs has ranks in order, a majority, and lookups")
    func parse() throws {
        let map = try MonMap(parsing: "a=loopback://a,b=tcp://127.0.0.1:7002,c=loopback://c")
        #expect(map.count == 3)
        #expect(map.majority == 2)
        #expect(map.member(named: "b")?.rank == 1)
        #expect(map.rank(of: "tcp://127.0.0.1:7002") == 1)
        #expect(map.address(of: 2) == "loopback://c")
        #expect(map.member(rank: 3) == nil)
    }

    @Test("duplicate names, duplicate addresses, bad URLs and empty maps are refused")
    func validation() {
        #expect(throws: MonMapError.duplicateName("a")) { try MonMap(parsing: "a=loopback://a,a=loopback://b") }
        #expect(throws: MonMapError.duplicateAddress("loopback://x")) { try MonMap(parsing: "a=loopback://x,b=loopback://x") }
        #expect(throws: MonMapError.self) { try MonMap(parsing: "a=not-a-url") }
        #expect(throws: MonMapError.empty) { try MonMap(parsing: "") }
        #expect(throws: MonMapError.malformed("a")) { try MonMap(parsing: "a") }
        #expect(throws: MonMapError.self) {
            try MonMap(members: [MonitorEntity(rank: 1, name: "a", address: "loopback://a")])
        }
    }

    @Test("the encoding round-trips and is validated on decode")
    func encoding() throws {
        let map = try MonMap(epoch: 3, named: [("a", "loopback://a"), ("b", "loopback://b")])
        #expect(try MonMap(decoding: map.encoded()) == map)
        // Re-encode a map whose two members share a name: the decoder refuses it.
        var encoder = WireEncoder()
        encoder.encodeVersionedStruct(version: 1, compat: 1) { body in
            body.encode(UInt32(1))
            body.encodeList([MonitorEntity(rank: 0, name: "a", address: "loopback://a"),
                             MonitorEntity(rank: 1, name: "a", address: "loopback://b")]) { e, m in m.encode(into: &e) }
        }
        #expect(throws: DecodeError.self) { try MonMap(decoding: encoder.finish()) }
    }
}
