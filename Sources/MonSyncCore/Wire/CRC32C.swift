import CMonSyncCRC32C

/// CRC32C (Castagnoli), the checksum of frames and sync chunks.
///
/// Uses the CPU's CRC instruction when it has one (SSE4.2, ARMv8 CRC).
public enum CRC32C {
    /// The CRC32C of `bytes`, or of `bytes` appended to data whose CRC32C was `previous`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, extending previous: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return previous }
        return monsync_crc32c_extend(previous, base, bytes.count)
    }

    /// The CRC32C of a collection of bytes (contiguous collections are not copied).
    public static func checksum<C: Collection<UInt8>>(_ bytes: C, extending previous: UInt32 = 0) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), extending: previous) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { checksum($0, extending: previous) }
    }

    /// Whether the hardware instruction is in use on this CPU.
    public static var isHardwareAccelerated: Bool { monsync_crc32c_is_hardware_accelerated() != 0 }
}
