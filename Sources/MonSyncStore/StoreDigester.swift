import Crypto

/// Builds a ``StoreDigest`` from entries fed one at a time, in store order.
///
/// What ``StoreSnapshot/digest()`` computes over a snapshot, for entries that arrive some other
/// way — a backup's chunks as they stream in, a snapshot file as it is read — so a digest is never
/// computed twice over the same bytes. The caller feeds the entries in store order (prefix, then
/// key, bytewise); the digester does not sort or check.
///
/// Entries go to SHA-256 through a 256 KiB buffer, so small entries cost a copy each, not a
/// hash call.
public struct StoreDigester {
    private var hasher = SHA256()
    private var buffer: [UInt8] = []
    /// Entries fed so far.
    public private(set) var keyCount = 0
    /// Prefix, key and value bytes fed so far.
    public private(set) var byteCount = 0

    private static let capacity = 256 * 1024

    /// An empty digester (the digest of nothing: SHA-256 of no bytes).
    public init() {
        buffer.reserveCapacity(Self.capacity)
    }

    /// Feeds one entry; its buffers are read during the call only.
    public mutating func add(prefix: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        feed(prefix)
        feed(key)
        feed(value)
        keyCount += 1
        byteCount += prefix.count + key.count + value.count
    }

    /// Feeds one entry given as byte arrays.
    public mutating func add(prefix: [UInt8], key: [UInt8], value: [UInt8]) {
        prefix.withUnsafeBytes { prefix in
            key.withUnsafeBytes { key in
                value.withUnsafeBytes { value in add(prefix: prefix, key: key, value: value) }
            }
        }
    }

    /// The digest of everything fed so far.
    public func finalize() -> StoreDigest {
        var hasher = hasher
        if !buffer.isEmpty { buffer.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return StoreDigest(sha256: Array(hasher.finalize()), keyCount: keyCount, byteCount: byteCount)
    }

    private mutating func flush() {
        if !buffer.isEmpty { buffer.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        buffer.removeAll(keepingCapacity: true)
    }

    /// `u32le len ‖ bytes`, the codec's string/blob encoding.
    private mutating func feed(_ part: UnsafeRawBufferPointer) {
        if buffer.count + 4 > Self.capacity { flush() }
        withUnsafeBytes(of: UInt32(part.count).littleEndian) { buffer.append(contentsOf: $0) }
        if part.count > Self.capacity / 2 {
            flush()
            hasher.update(bufferPointer: part)
            return
        }
        if buffer.count + part.count > Self.capacity { flush() }
        buffer.append(contentsOf: part)
    }
}
