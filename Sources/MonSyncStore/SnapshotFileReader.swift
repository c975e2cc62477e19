#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MonSyncCore

/// Reads a snapshot file and checks all of it: the header's CRC, every chunk's CRC32C and
/// encoding, the format's rules for the entries (`SnapshotContent`), the trailer, and the
/// entries' digest and counts against the header.
///
/// ```swift
/// let reader = try SnapshotFileReader(path: "backup.msnap")   // reads and checks the header
/// print(reader.header.version)
/// let digest = try reader.verify { chunk in try store.stage(encoded: chunk) }   // or verify() alone
/// ```
///
/// ``verify(_:)`` hands each chunk to its caller only after the chunk passed its checks, and
/// returns only if the whole file did: a caller that builds something from the chunks (a restore)
/// must keep it only then. Not thread-safe: one task reads one file.
public final class SnapshotFileReader {
    /// The file.
    public let path: String
    /// Its header, checked (magic, CRC, format version, encoding).
    public let header: SnapshotFileHeader
    /// The file's size in bytes.
    public let size: UInt64
    private let descriptor: Int32

    /// The tag of a chunk record (`C`).
    static let chunkTag: UInt8 = 0x43
    /// The tag of the trailer (`E`).
    static let trailerTag: UInt8 = 0x45
    /// The largest chunk a record may hold: a MMonSync frame's payload limit.
    public static let maximumChunkSize = Frame.defaultMaximumPayloadSize

    /// Opens `path` and reads its header.
    ///
    /// - Throws: ``SnapshotFileError``: the file cannot be opened, is not a snapshot, is of a newer
    ///   format, or its header is damaged or cut.
    public init(path: String) throws(SnapshotFileError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SnapshotFileWriter.ioError(path, "open") }
        var status = stat()
        size = fstat(descriptor, &status) == 0 ? UInt64(status.st_size) : 0
        do throws(SnapshotFileError) {
            header = try Self.readHeader(descriptor, size: size)
        } catch {
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
    }

    private static func readHeader(_ descriptor: Int32, size: UInt64) throws(SnapshotFileError) -> SnapshotFileHeader {
        var offset: UInt64 = 0
        let magic = SnapshotFileHeader.magic.count
        if size < UInt64(magic) {
            // Too short for the magic: a cut snapshot only if what is there is the magic's start.
            let start = try read(descriptor, count: Int(size), at: &offset, what: "the magic")
            guard start.elementsEqual(SnapshotFileHeader.magic.prefix(start.count)) else { throw .notASnapshot }
            throw .truncated(offset: size, detail: "the header is missing")
        }
        let start = try read(descriptor, count: magic + 6, at: &offset, what: "the header")
        guard start.prefix(magic).elementsEqual(SnapshotFileHeader.magic) else { throw .notASnapshot }
        let length = start.suffix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length <= SnapshotFileHeader.maximumEncodedSize else { throw .headerCorrupt("it claims \(length) bytes") }
        let rest = try read(descriptor, count: length + 4, at: &offset, what: "the header")
        return try SnapshotFileHeader(decoding: (start + rest)[...])
    }

    deinit { close(descriptor) }

    /// Reads every chunk and the trailer, checking each; hands each chunk to `visit` once it passed
    /// its own checks. Returns the entries' digest once the whole file matched its header.
    ///
    /// - Throws: ``SnapshotFileError`` for the first defect found (a `visit` failure comes back as
    ///   ``SnapshotFileError/store(_:)``); the file is read from its first chunk on each call.
    @discardableResult
    public func verify(_ visit: (EncodedTransaction) throws(StoreError) -> Void = { _ in }) throws(SnapshotFileError) -> StoreDigest {
        var offset = UInt64(header.encoded().count)
        var content = SnapshotContent(version: header.version, prefixes: header.prefixes)
        var chunks: UInt64 = 0
        while true {
            let start = offset
            let tag = try Self.read(descriptor, count: 1, at: &offset, what: "the trailer (the file ends after chunk \(chunks))")[0]
            if tag == Self.trailerTag {
                let trailer = try Self.read(descriptor, count: 20, at: &offset, what: "the trailer")
                let expected = Self.trailer(chunkCount: Self.uint64(trailer[0..<8]), keyCount: Self.uint64(trailer[8..<16]))
                guard expected.elementsEqual([tag] + trailer) else { throw SnapshotFileError.trailerCorrupt("its CRC32C does not match") }
                guard Self.uint64(trailer[0..<8]) == chunks else {
                    throw SnapshotFileError.trailerCorrupt("it counts \(Self.uint64(trailer[0..<8])) chunks; the file holds \(chunks)")
                }
                guard Self.uint64(trailer[8..<16]) == UInt64(content.digester.keyCount) else {
                    throw SnapshotFileError.trailerCorrupt("it counts \(Self.uint64(trailer[8..<16])) keys; the chunks hold \(content.digester.keyCount)")
                }
                break
            }
            chunks += 1
            guard tag == Self.chunkTag else {
                throw SnapshotFileError.chunkCorrupt(index: chunks, offset: start, detail: "record tag 0x\(String(tag, radix: 16)) is neither a chunk nor the trailer")
            }
            let fields = try Self.read(descriptor, count: 8, at: &offset, what: "chunk \(chunks)'s length and CRC32C")
            let length = Int(Self.uint32(fields[0..<4]))
            guard length <= Self.maximumChunkSize else {
                throw SnapshotFileError.chunkCorrupt(index: chunks, offset: start, detail: "it claims \(length) bytes, over the limit of \(Self.maximumChunkSize)")
            }
            guard UInt64(length) <= size - min(size, offset) else {
                throw SnapshotFileError.truncated(offset: size, detail: "chunk \(chunks) needs \(length) bytes; \(size - min(size, offset)) are left")
            }
            let bytes = try Self.read(descriptor, count: length, at: &offset, what: "chunk \(chunks)")
            guard CRC32C.checksum(bytes) == Self.uint32(fields[4..<8]) else {
                throw SnapshotFileError.chunkChecksumMismatch(index: chunks, offset: start)
            }
            let chunk: EncodedTransaction
            do { chunk = try EncodedTransaction(bytes[...]) } catch {
                throw SnapshotFileError.chunkCorrupt(index: chunks, offset: start, detail: "\(error)")
            }
            try content.add(chunk, index: chunks)
            do { try visit(chunk) } catch { throw SnapshotFileError.store(error) }
        }
        if offset < size { throw SnapshotFileError.trailingBytes(offset: offset) }
        let digest = try content.finish()
        guard chunks == header.chunkCount else {
            throw SnapshotFileError.countMismatch("the header counts \(header.chunkCount) chunks; the file holds \(chunks)")
        }
        guard digest == header.digest else { throw SnapshotFileError.digestMismatch(recorded: header.digest, computed: digest) }
        return digest
    }

    // MARK: Layout

    /// The trailer: `E`, the chunk and key counts (u64 each), and the CRC32C of those 17 bytes.
    static func trailer(chunkCount: UInt64, keyCount: UInt64) -> [UInt8] {
        var bytes = [trailerTag]
        withUnsafeBytes(of: chunkCount.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: keyCount.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    private static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    private static func uint64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// Exactly `count` bytes at `offset` (advanced past them); a short file is ``SnapshotFileError/truncated(offset:detail:)``.
    private static func read(_ descriptor: Int32, count: Int, at offset: inout UInt64, what: String) throws(SnapshotFileError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw SnapshotFileError.io(path: "the snapshot file", operation: "read", detail: String(cString: strerror(errno)))
            }
            if result == 0 { throw SnapshotFileError.truncated(offset: offset + UInt64(done), detail: "\(what) is missing") }
            done += result
        }
        offset += UInt64(count)
        return bytes
    }
}
