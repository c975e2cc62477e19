import Crypto

/// A content digest of a snapshot: SHA-256 over every entry in store order, plus counts.
///
/// Two stores whose digests over the same prefixes are equal hold the same keys
/// and values there. The hash input is, for each entry in order (prefix, then
/// key, bytewise), `u32 len(prefix) ‖ prefix ‖ u32 len(key) ‖ key ‖ u32 len(value) ‖ value`
/// with little-endian lengths (the codec's string/blob encoding), so no two
/// different contents produce the same byte stream. docs/STORE.md, "Digest".
public struct StoreDigest: Sendable, Hashable, CustomStringConvertible {
    /// The 32-byte SHA-256.
    public var sha256: [UInt8]
    /// The number of entries hashed.
    public var keyCount: Int
    /// The total size of keys and values hashed (prefix + key + value bytes).
    public var byteCount: Int

    /// The SHA-256 in lowercase hex.
    public var hex: String {
        sha256.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }

    /// `sha256:<hex> keys:<n> bytes:<n>`.
    public var description: String { "sha256:\(hex) keys:\(keyCount) bytes:\(byteCount)" }
}

extension StoreSnapshot {
    /// Computes the ``StoreDigest`` of everything in the snapshot.
    ///
    /// Entries are fed to SHA-256 through a 256 KiB buffer, so small entries cost
    /// a memcpy each, not a hash call; the backend's buffers are read in place.
    public func digest() throws(StoreError) -> StoreDigest {
        var hasher = SHA256()
        let capacity = 256 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        var used = 0
        var keys = 0
        var bytes = 0

        func flush() {
            if used > 0 { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<used])) }
            used = 0
        }
        func feed(_ part: UnsafeRawBufferPointer) {
            var length = UInt32(part.count).littleEndian
            if used + 4 > capacity { flush() }
            withUnsafeBytes(of: &length) { raw in
                buffer.baseAddress!.advanced(by: used).copyMemory(from: raw.baseAddress!, byteCount: 4)
            }
            used += 4
            if part.count > capacity / 2 {
                flush()
                hasher.update(bufferPointer: part)
                return
            }
            if used + part.count > capacity { flush() }
            if let base = part.baseAddress, part.count > 0 {
                buffer.baseAddress!.advanced(by: used).copyMemory(from: base, byteCount: part.count)
            }
            used += part.count
        }

        _ = try scan(after: .beginning) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            feed(entry.prefix)
            feed(entry.key)
            feed(entry.value)
            keys += 1
            bytes += entry.prefix.count + entry.key.count + entry.value.count
            return true
        }
        flush()
        return StoreDigest(sha256: Array(hasher.finalize()), keyCount: keys, byteCount: bytes)
    }
}

extension MonitorStore {
    /// The ``StoreDigest`` of `prefixes`, over a snapshot taken now.
    public func digest(of prefixes: [String]) throws(StoreError) -> StoreDigest {
        try snapshot(of: prefixes).digest()
    }
}
