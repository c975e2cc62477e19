import MonSyncCore
public import MonSyncMessages

/// One entry seen by ``StoreSnapshot/scan(after:_:)``: views into the backend's memory.
///
/// The buffers are valid only during the callback that receives the entry;
/// copy what must outlive it.
public struct StoreEntryView {
    /// The prefix's UTF-8 bytes.
    public let prefix: UnsafeRawBufferPointer
    /// The key's UTF-8 bytes.
    public let key: UnsafeRawBufferPointer
    /// The value's bytes.
    public let value: UnsafeRawBufferPointer

    /// Creates a view; used by backends.
    public init(prefix: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.prefix = prefix
        self.key = key
        self.value = value
    }
}

/// A consistent, point-in-time, read-only view of a set of prefixes (the sync targets).
///
/// Writes that land after the snapshot was taken are never seen through it,
/// however long it lives; the backend keeps the data it needs until the
/// snapshot is released (dropped). Safe to use from several threads.
public protocol StoreSnapshot: Sendable {
    /// The prefixes this snapshot covers, sorted bytewise.
    var prefixes: [String] { get }

    /// Visits the entries strictly after `position`, in store order (prefix, then
    /// key, bytewise), until `visit` returns `false` or the entries run out.
    ///
    /// - Returns: `true` when every entry was visited (the snapshot is exhausted).
    func scan(after position: SyncKey, _ visit: (StoreEntryView) throws(StoreError) -> Bool) throws(StoreError) -> Bool

    /// About how many bytes a sync of the whole snapshot moves (its encoded chunks), for a
    /// requester's progress and ETA; 0 when unknown. RocksDB answers from its file sizes
    /// (`GetApproximateSizes`), so it is an estimate, not a count.
    var estimatedSize: UInt64 { get }

    /// The next encoded chunk after `position` if it can be had now, or `nil` while it is being
    /// read on another thread; whoever arranged that read is told when the chunk is ready, and
    /// asks again.
    ///
    /// A sync provider takes its chunks through this call, so a snapshot may read ahead off the
    /// thread that runs Paxos. The default reads the chunk at once
    /// (``encodedChunk(after:limits:)``) and never answers `nil`.
    func readyChunk(after position: SyncKey, limits: ChunkLimits) throws(StoreError) -> EncodedStoreChunk?
}

extension StoreSnapshot {
    /// Reads the chunk at once: a plain snapshot has nobody reading ahead for it.
    public func readyChunk(after position: SyncKey, limits: ChunkLimits) throws(StoreError) -> EncodedStoreChunk? {
        try encodedChunk(after: position, limits: limits)
    }
}

/// How large a sync chunk may grow.
public struct ChunkLimits: Sendable, Hashable {
    /// The largest encoded chunk, in bytes (Ceph's `mon_sync_max_payload_size`, 1 MiB).
    /// A single entry larger than this still goes alone, so progress never stalls.
    public var maxBytes: Int
    /// The most entries in one chunk.
    public var maxKeys: Int

    /// Creates limits; both are clamped to at least 1.
    public init(maxBytes: Int = 1 << 20, maxKeys: Int = 65_536) {
        self.maxBytes = max(1, maxBytes)
        self.maxKeys = max(1, maxKeys)
    }

    /// 1 MiB and 65 536 keys.
    public static let `default` = ChunkLimits()
}

/// A chunk of a snapshot: consecutive entries, as a transaction of puts.
public struct StoreChunk: Sendable, Hashable {
    /// The entries, as puts in store order (the MMonSync `chunk_bl` once encoded).
    public var transaction: StoreTransaction
    /// The last key carried; equal to the position the chunk started after when the chunk is empty.
    public var lastKey: SyncKey
    /// Whether the snapshot has no entry after ``lastKey``.
    public var isComplete: Bool
    /// The number of entries.
    public var keyCount: Int { transaction.count }
    /// The size of ``transaction`` once encoded.
    public var encodedSize: Int
}

/// A chunk cut from a snapshot, already encoded (``StoreSnapshot/encodedChunk(after:limits:)``).
public struct EncodedStoreChunk: Sendable, Hashable {
    /// The encoded ``StoreTransaction`` of puts.
    public var bytes: [UInt8]
    /// The number of entries.
    public var keyCount: Int
    /// The last entry's key, or the starting position when the chunk is empty.
    public var lastKey: SyncKey
    /// Whether the snapshot has no entries after this chunk.
    public var isComplete: Bool
}

/// One try at cutting an encoded chunk into a buffer of a given size.
private enum EncodedChunkAttempt {
    case chunk(EncodedStoreChunk)
    /// The first entry does not fit: try again with this many bytes.
    case needs(Int)
}

extension StoreSnapshot {
    /// The next chunk: entries strictly after `position`, within `limits`.
    ///
    /// The first entry is always taken, however large, so each call that is not
    /// complete makes progress. Resuming with the returned ``StoreChunk/lastKey``
    /// visits every entry exactly once.
    public func chunk(after position: SyncKey, limits: ChunkLimits = .default) throws(StoreError) -> StoreChunk {
        var transaction = StoreTransaction()
        var size = StoreTransaction.encodedEmptySize
        var lastKey = position
        let complete = try scan(after: position) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            let entrySize = StoreTransaction.encodedSize(prefixCount: entry.prefix.count, keyCount: entry.key.count, valueCount: entry.value.count)
            if !transaction.isEmpty && (size + entrySize > limits.maxBytes || transaction.count >= limits.maxKeys) {
                return false
            }
            let prefix = String(decoding: entry.prefix, as: UTF8.self)
            let key = String(decoding: entry.key, as: UTF8.self)
            transaction.put(prefix, key, entry.value)
            size += entrySize
            lastKey = SyncKey(prefix: prefix, key: key)
            return true
        }
        return StoreChunk(transaction: transaction, lastKey: lastKey, isComplete: complete, encodedSize: size)
    }

    /// Every entry of the snapshot, as `(position, value)` pairs (for tests and small stores).
    /// The next chunk after `position`, already encoded as a ``StoreTransaction``: the
    /// bytes a sync CHUNK carries, written straight from the snapshot's entries.
    ///
    /// The same cut as ``chunk(after:limits:)`` (the first entry always taken, then
    /// as many as fit `limits`) and byte for byte the same as `chunk(...).transaction.encoded()`,
    /// without a `String` per key or an array per value: a provider streaming
    /// small values spends its time there otherwise.
    public func encodedChunk(after position: SyncKey, limits: ChunkLimits = .default) throws(StoreError) -> EncodedStoreChunk {
        var capacity = limits.maxBytes
        while true {
            switch try encodedChunk(after: position, limits: limits, capacity: capacity) {
            case let .chunk(chunk): return chunk
            // Only a first entry larger than the limit (always taken) can need more room.
            case let .needs(bytes): capacity = bytes
            }
        }
    }

    private func encodedChunk(after position: SyncKey, limits: ChunkLimits, capacity: Int) throws(StoreError) -> EncodedChunkAttempt {
        let headerSize = StoreTransaction.encodedEmptySize
        let capacity = max(capacity, headerSize)
        var count = 0
        var needed = 0
        var complete = false
        var failure: StoreError?
        // Where the last entry's prefix and key are in the output: the chunk's last key.
        var lastPrefix = 0..<0
        var lastKey = 0..<0
        // Written in place with raw stores: appending field by field to an array costs more
        // than RocksDB's own iteration for 100-byte values.
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            let out = UnsafeMutableRawBufferPointer(buffer)
            var at = headerSize
            func put(_ value: UInt32) {
                out.storeBytes(of: value.littleEndian, toByteOffset: at, as: UInt32.self)
                at += 4
            }
            func put(_ bytes: UnsafeRawBufferPointer) -> Range<Int> {
                if let base = bytes.baseAddress, !bytes.isEmpty { (out.baseAddress! + at).copyMemory(from: base, byteCount: bytes.count) }
                defer { at += bytes.count }
                return at..<(at + bytes.count)
            }
            do throws(StoreError) {
                complete = try scan(after: position) { (entry: StoreEntryView) throws(StoreError) -> Bool in
                    let entrySize = StoreTransaction.encodedSize(prefixCount: entry.prefix.count, keyCount: entry.key.count,
                                                                 valueCount: entry.value.count)
                    if count > 0 && (at + entrySize > limits.maxBytes || count >= limits.maxKeys) { return false }
                    if at + entrySize > capacity {
                        needed = at + entrySize
                        return false
                    }
                    out[at] = 1  // op struct version
                    out[at + 1] = 1  // op struct compat
                    at += 2
                    put(UInt32(entrySize - 6))
                    out[at] = StoreTransaction.OperationType.put.rawValue
                    at += 1
                    put(UInt32(entry.prefix.count))
                    lastPrefix = put(entry.prefix)
                    put(UInt32(entry.key.count))
                    lastKey = put(entry.key)
                    put(UInt32(entry.value.count))
                    _ = put(entry.value)
                    count += 1
                    return true
                }
            } catch {
                failure = error
            }
            out[0] = StoreTransaction.encodingVersion
            out[1] = StoreTransaction.encodingCompat
            out.storeBytes(of: UInt32(at - 6).littleEndian, toByteOffset: 2, as: UInt32.self)
            out.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 6, as: UInt32.self)
            initialized = at
        }
        if let failure { throw failure }
        if needed > 0 { return .needs(needed) }
        let last = count == 0
            ? position
            : SyncKey(prefix: String(decoding: bytes[lastPrefix], as: UTF8.self), key: String(decoding: bytes[lastKey], as: UTF8.self))
        return .chunk(EncodedStoreChunk(bytes: bytes, keyCount: count, lastKey: last, isComplete: complete))
    }

    /// Every entry of the snapshot, in key order: for tests and offline tools, as it holds the whole snapshot in memory.
    public func allEntries() throws(StoreError) -> [(SyncKey, [UInt8])] {
        var result: [(SyncKey, [UInt8])] = []
        _ = try scan(after: .beginning) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            result.append((SyncKey(prefix: String(decoding: entry.prefix, as: UTF8.self), key: String(decoding: entry.key, as: UTF8.self)), Array(entry.value)))
            return true
        }
        return result
    }
}
