import MonSyncCore
public import MonSyncMessages

/// What a snapshot file says about itself: where and when it was taken, the Paxos version it is
/// the state of, and what its chunks hold (counts and digest), so a reader can check the whole
/// file against it.
///
/// On disk (docs/OPERATIONS.md, "The snapshot file"): the magic `MSYNSNAP`, then this header as a
/// versioned struct (`struct_v`, `struct_compat`, `u32` length, body), then the CRC32C of both.
/// The struct's version is the file's format version: a reader refuses a `struct_compat` newer
/// than it knows, and skips fields a newer `struct_v` appended.
public struct SnapshotFileHeader: Sendable, Hashable {
    /// The format this implementation writes (the header's `struct_v`).
    public static let formatVersion: UInt8 = 1
    /// The oldest format a reader must know to read what this implementation writes.
    public static let formatCompat: UInt8 = 1
    /// The file's first eight bytes, `MSYNSNAP`.
    public static let magic: [UInt8] = Array("MSYNSNAP".utf8)

    /// The format version the file was written in (its header's `struct_v`).
    public var formatVersion: UInt8 = Self.formatVersion
    /// When the file was completed, in milliseconds since the Unix epoch.
    public var createdMilliseconds: UInt64
    /// The Paxos version (`last_committed`) the snapshot is the state of.
    public var version: UInt64
    /// The serving monitor's `first_committed` when it took the snapshot (for the record: a restored
    /// store keeps only ``version`` of the log).
    public var sourceFirstCommitted: UInt64
    /// The number of chunk records.
    public var chunkCount: UInt64
    /// The number of entries in the chunks: the keys of the store a restore builds.
    public var keyCount: UInt64
    /// Their prefix, key and value bytes.
    public var byteCount: UInt64
    /// The SHA-256 of the entries (PROTOCOL.md §10): the ``StoreDigest`` of every store restored from the file.
    public var sha256: [UInt8]
    /// The epoch of the source cluster's monmap.
    public var monmapEpoch: UInt32
    /// The source cluster's monitors (ranks in order).
    public var monmap: [MonitorEntity]
    /// The monitor that streamed the snapshot.
    public var source: MonitorEntity
    /// The prefixes the snapshot covers (the sync targets), sorted bytewise.
    public var prefixes: [String]

    /// A header; the summary (`chunkCount`, `keyCount`, `byteCount`, `sha256`, `createdMilliseconds`)
    /// is filled in by ``SnapshotFileWriter/finish(createdMilliseconds:)``.
    public init(version: UInt64, sourceFirstCommitted: UInt64, monmapEpoch: UInt32, monmap: [MonitorEntity],
                source: MonitorEntity, prefixes: [String], createdMilliseconds: UInt64 = 0, chunkCount: UInt64 = 0,
                keyCount: UInt64 = 0, byteCount: UInt64 = 0, sha256: [UInt8] = Array(repeating: 0, count: 32)) {
        self.version = version
        self.sourceFirstCommitted = sourceFirstCommitted
        self.monmapEpoch = monmapEpoch
        self.monmap = monmap
        self.source = source
        self.prefixes = Array(Set(prefixes)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.createdMilliseconds = createdMilliseconds
        self.chunkCount = chunkCount
        self.keyCount = keyCount
        self.byteCount = byteCount
        self.sha256 = sha256
    }

    /// The digest the header records.
    public var digest: StoreDigest { StoreDigest(sha256: sha256, keyCount: Int(keyCount), byteCount: Int(byteCount)) }

    /// The magic, the header struct and its CRC32C: the file's first bytes.
    ///
    /// The summary fields are fixed-width, so a header rewritten with its final summary has the
    /// same length as the one written first (the writer patches it in place).
    public func encoded() -> [UInt8] {
        var encoder = WireEncoder(reservingCapacity: 256)
        encoder.appendRaw(Self.magic)
        encoder.encodeVersionedStruct(version: Self.formatVersion, compat: Self.formatCompat) { e in
            e.encode(createdMilliseconds)
            e.encode(version)
            e.encode(sourceFirstCommitted)
            e.encode(chunkCount)
            e.encode(keyCount)
            e.encode(byteCount)
            e.appendRaw(sha256.count == 32 ? sha256 : Array(repeating: 0, count: 32))
            e.encode(monmapEpoch)
            e.encodeList(monmap) { e, member in member.encode(into: &e) }
            source.encode(into: &e)
            e.encodeList(prefixes) { e, prefix in e.encode(prefix) }
        }
        var bytes = encoder.finish()
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The most bytes a header may take: larger is refused before it is read (64 monitors with
    /// long names and addresses fit many times over).
    public static let maximumEncodedSize = 1 << 20

    /// Reads the header from `bytes`, which hold exactly the magic, the struct and the CRC.
    ///
    /// - Throws: ``SnapshotFileError`` naming the first problem.
    public init(decoding bytes: ArraySlice<UInt8>) throws(SnapshotFileError) {
        guard bytes.count >= Self.magic.count + 10 else { throw .truncated(offset: 0, detail: "the header is cut short") }
        guard bytes.prefix(Self.magic.count).elementsEqual(Self.magic) else { throw .notASnapshot }
        let body = bytes.dropLast(4)
        let stored = bytes.suffix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        guard CRC32C.checksum(body) == stored else { throw .headerCorrupt("its CRC32C does not match") }
        var decoder = WireDecoder(body.dropFirst(Self.magic.count))
        do throws(DecodeError) {
            self = try decoder.decodeVersionedStruct("snapshot header", supportedVersion: Self.formatVersion) {
                (d: inout WireDecoder, version: UInt8) throws(DecodeError) -> SnapshotFileHeader in
                let created = try d.decodeUInt64()
                let snapshotVersion = try d.decodeUInt64()
                let firstCommitted = try d.decodeUInt64()
                let chunks = try d.decodeUInt64()
                let keys = try d.decodeUInt64()
                let bytes = try d.decodeUInt64()
                let sha256 = Array(try d.decodeRaw(count: 32))
                let epoch = try d.decodeUInt32()
                let monmap = try d.decodeList(field: "monmap", minimumElementSize: 18) {
                    (d: inout WireDecoder) throws(DecodeError) -> MonitorEntity in try MonitorEntity(from: &d)
                }
                let source = try MonitorEntity(from: &d)
                let prefixes = try d.decodeList(field: "prefixes", minimumElementSize: 4) {
                    (d: inout WireDecoder) throws(DecodeError) -> String in try d.decodeString(field: "prefix")
                }
                var header = SnapshotFileHeader(version: snapshotVersion, sourceFirstCommitted: firstCommitted, monmapEpoch: epoch,
                                                monmap: monmap, source: source, prefixes: prefixes, createdMilliseconds: created,
                                                chunkCount: chunks, keyCount: keys, byteCount: bytes, sha256: sha256)
                header.formatVersion = version
                return header
            }
            try decoder.expectEnd()
        } catch {
            if case let .unsupportedVersion(_, compat, supported) = error { throw .unsupportedFormat(compat: compat, supported: supported) }
            throw .headerCorrupt("\(error)")
        }
        for prefix in prefixes {
            do { try StoreLayout.validatePrefix(prefix) } catch { throw .headerCorrupt("it names an invalid prefix \(prefix.debugDescription)") }
            if prefix == StoreLayout.protectedPrefix { throw .headerCorrupt("it names the protected prefix \(prefix)") }
        }
        guard !prefixes.isEmpty else { throw .headerCorrupt("it names no prefix") }
    }
}
