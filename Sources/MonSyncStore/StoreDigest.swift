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
    /// The backend's buffers are read in place (``StoreDigester``).
    public func digest() throws(StoreError) -> StoreDigest {
        var digester = StoreDigester()
        _ = try scan(after: .beginning) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            digester.add(prefix: entry.prefix, key: entry.key, value: entry.value)
            return true
        }
        return digester.finalize()
    }
}

extension MonitorStore {
    /// The ``StoreDigest`` of `prefixes`, over a snapshot taken now.
    public func digest(of prefixes: [String]) throws(StoreError) -> StoreDigest {
        try snapshot(of: prefixes).digest()
    }
}
