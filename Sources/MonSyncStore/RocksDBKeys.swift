/// The physical key layout of ``RocksDBStore`` (docs/STORE.md, "RocksDB layout").
///
/// - Data: `0x02 ‖ prefix ‖ 0x00 ‖ generation (u64 big-endian) ‖ key`.
///   Each prefix has an *active generation*; live reads and writes use it. A
///   staging area writes the same prefixes under a fresh generation, so staged
///   data never mixes with live data, and swapping it in is a pointer flip.
///   Big-endian makes one generation's keys one contiguous range, ordered by key.
/// - Metadata: `0x01 ‖ "gen" ‖ 0x00 ‖ prefix` = the prefix's active generation
///   (u64 little-endian; absent means 0), and `0x01 ‖ "next_generation"`.
enum RocksDBKeys {
    static let metaTag: UInt8 = 0x01
    static let dataTag: UInt8 = 0x02

    /// `0x02 ‖ prefix ‖ 0x00 ‖ generation`: the start of one generation of a prefix.
    static func rangeStart(_ prefix: some Collection<UInt8>, generation: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.count + 10 + 64)
        bytes.append(dataTag)
        bytes.append(contentsOf: prefix)
        bytes.append(0)
        withUnsafeBytes(of: generation.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The end (exclusive) of one generation of a prefix. Generations stay below `UInt64.max`.
    static func rangeEnd(_ prefix: some Collection<UInt8>, generation: UInt64) -> [UInt8] {
        rangeStart(prefix, generation: generation + 1)
    }

    static func dataKey(_ prefix: String, generation: UInt64, key: String) -> [UInt8] {
        var bytes = rangeStart(prefix.utf8, generation: generation)
        bytes.append(contentsOf: key.utf8)
        return bytes
    }

    static func generationKey(_ prefix: String) -> [UInt8] {
        [metaTag] + Array("gen".utf8) + [0] + Array(prefix.utf8)
    }

    static let generationKeysStart: [UInt8] = [metaTag] + Array("gen".utf8) + [0]
    static let generationKeysEnd: [UInt8] = [metaTag] + Array("gen".utf8) + [1]
    static let nextGenerationKey: [UInt8] = [metaTag] + Array("next_generation".utf8)

    static func encode(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func decodeUInt64(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        return value
    }
}
