import CMonSyncCRC32C
import MonSyncCore
import Testing

@Suite("CRC32C")
struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// The hardware path (three interleaved streams joined by zero-append operators on
    /// long inputs) equals the table-driven one at every length class and alignment.
    @Test func theFastPathEqualsThePortableOne() {
        var random = SeededRandomNumberGenerator(seed: 0xC5C3)
        let data = random.bytes(count: 3 * 8192 * 3 + 3 * 256 * 2 + 64)
        let lengths = [0, 1, 7, 8, 255, 767, 768, 769, 3 * 256 * 2 + 5, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1,
                       3 * 8192 + 3 * 256 + 9, 2 * 3 * 8192 + 100, data.count - 8]
        data.withUnsafeBytes { raw in
            for offset in 0..<8 {
                for length in lengths where offset + length <= raw.count {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
                    let previous = UInt32(truncatingIfNeeded: random.next())
                    let fast = CRC32C.checksum(slice, extending: previous)
                    let portable = monsync_crc32c_extend_portable(previous, slice.baseAddress ?? raw.baseAddress!, length)
                    #expect(fast == portable, "offset \(offset), length \(length)")
                }
            }
        }
    }

    @Test func extendingEqualsChecksummingTheWhole() {
        var random = SeededRandomNumberGenerator(seed: 9)
        let data = random.bytes(count: 100_000)
        for cut in [0, 1, 4_000, 50_001, 100_000] {
            #expect(CRC32C.checksum(data[cut...], extending: CRC32C.checksum(data[..<cut])) == CRC32C.checksum(data))
        }
    }
}
