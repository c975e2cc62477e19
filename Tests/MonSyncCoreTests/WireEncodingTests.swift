import MonSyncCore
import Testing

@Suite("Wire encoding (Ceph conventions)")
struct WireEncodingTests {
    @Test("integers are little-endian at their exact width")
    func integers() throws {
        var e = WireEncoder()
        e.encode(UInt8(0x01))
        e.encode(UInt16(0x0203))
        e.encode(UInt32(0x0405_0607))
        e.encode(UInt64(0x0809_0A0B_0C0D_0E0F))
        e.encode(Int32(-2))
        e.encode(true)
        let bytes = e.finish()
        #expect(bytes == [0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, 0x0F, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08,
                          0xFE, 0xFF, 0xFF, 0xFF, 0x01])
        var d = WireDecoder(bytes)
        #expect(try d.decodeUInt8() == 1)
        #expect(try d.decodeUInt16() == 0x0203)
        #expect(try d.decodeUInt32() == 0x0405_0607)
        #expect(try d.decodeUInt64() == 0x0809_0A0B_0C0D_0E0F)
        #expect(try d.decodeInt32() == -2)
        #expect(try d.decodeBool(field: "b"))
        try d.expectEnd()
    }

    @Test("strings and blobs are a u32 length then the bytes")
    func stringsAndBlobs() throws {
        var e = WireEncoder()
        e.encode("hé")
        e.encodeBlob([0xAA] as [UInt8])
        let bytes = e.finish()
        #expect(bytes == [3, 0, 0, 0, 0x68, 0xC3, 0xA9, 1, 0, 0, 0, 0xAA])
        var d = WireDecoder(bytes)
        #expect(try d.decodeString(field: "s") == "hé")
        #expect(Array(try d.decodeBlob(field: "b")) == [0xAA])
    }

    @Test("a versioned struct is v, compat, u32 length, body")
    func versionedStruct() throws {
        var e = WireEncoder()
        e.encodeVersionedStruct(version: 2, compat: 1) { $0.encode(UInt16(0xBEEF)) }
        let bytes = e.finish()
        #expect(bytes == [2, 1, 2, 0, 0, 0, 0xEF, 0xBE])
        // An older reader (knows version 1, which had no fields) skips the body.
        var d = WireDecoder(bytes)
        let version = try d.decodeVersionedStruct("s", supportedVersion: 1) { (_: inout WireDecoder, v: UInt8) throws(DecodeError) in v }
        #expect(version == 2)
        #expect(d.remaining == 0)
    }

    @Test("a bool other than 0 or 1 is refused")
    func badBool() {
        var d = WireDecoder([2])
        #expect(throws: DecodeError.invalidField(name: "flag", value: 2)) { try d.decodeBool(field: "flag") }
    }

    @Test("CRC32C matches the standard check value and extends piecewise")
    func crc32c() {
        let check = Array("123456789".utf8)
        #expect(CRC32C.checksum(check) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(data)
        for split in [0, 1, 7, 8, 9, 4096, 9999, 10_000] {
            #expect(CRC32C.checksum(data[split...], extending: CRC32C.checksum(data[..<split])) == whole)
        }
        // Unaligned starts exercise the byte-wise head of both paths.
        #expect(CRC32C.checksum(Array(check.dropFirst())) == CRC32C.checksum(check[1...]))
    }
}
