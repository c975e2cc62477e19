#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MonSyncCore

/// Writes a snapshot file: the header, one record per chunk with its CRC32C, and the trailer,
/// into a temporary file beside the destination that becomes the destination only when whole.
///
/// ```swift
/// let writer = try SnapshotFileWriter(path: "backup.msnap")
/// try writer.begin(header)                     // again to start over (another provider)
/// for chunk in chunks { try writer.append(chunk) }
/// let final = try writer.finish(createdMilliseconds: now)   // fsync, rename, fsync the directory
/// ```
///
/// The chunks appended are a provider's snapshot at ``SnapshotFileHeader/version``, in store
/// order. The writer keeps what a restored store holds (`SnapshotContent`): the Paxos log is
/// cut to that one version (`paxos/<n>` for other `n` dropped, `first_committed` set to it), and
/// every rule is checked as the entries go by, so a provider that sent anything else is caught
/// here, not by the first reader. The destination is never a partial file: until ``finish(createdMilliseconds:)``
/// renames it, everything is in `<path>.partial-<pid>`, which ``discard()`` (or deinit) removes.
///
/// Not thread-safe: one task writes one file.
public final class SnapshotFileWriter {
    /// The destination.
    public let path: String
    /// Where the file is written until it is complete.
    public let temporaryPath: String
    private let overwrite: Bool
    private var descriptor: Int32 = -1
    private var header: SnapshotFileHeader?
    private var content: SnapshotContent?
    private var headerSize = 0
    private var offset: UInt64 = 0
    private var chunks: UInt64 = 0
    private var finished = false

    /// A writer for `path`, which must not exist unless `overwrite`; its directory must.
    ///
    /// - Throws: ``SnapshotFileError/exists(path:)``, or ``SnapshotFileError/io(path:operation:detail:)``
    ///   when the directory is missing.
    public init(path: String, overwrite: Bool = false) throws(SnapshotFileError) {
        self.path = path
        self.overwrite = overwrite
        temporaryPath = "\(path).partial-\(getpid())"
        if !overwrite, access(path, F_OK) == 0 { throw .exists(path: path) }
        var status = stat()
        guard stat(Self.directory(of: path), &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw .io(path: Self.directory(of: path), operation: "write into", detail: "no such directory")
        }
    }

    deinit { discard() }

    /// Bytes written so far (header and records).
    public var bytesWritten: UInt64 { offset }

    /// Starts the file over with `header` (its summary fields are filled in by ``finish(createdMilliseconds:)``):
    /// anything written before is dropped.
    public func begin(_ header: SnapshotFileHeader) throws(SnapshotFileError) {
        closeDescriptor()
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.ioError(temporaryPath, "create") }
        var header = header
        header.chunkCount = 0
        header.keyCount = 0
        header.byteCount = 0
        header.sha256 = Array(repeating: 0, count: 32)
        header.createdMilliseconds = 0
        let bytes = header.encoded()
        headerSize = bytes.count
        offset = 0
        chunks = 0
        self.header = header
        content = SnapshotContent(version: header.version, prefixes: header.prefixes)
        try write(bytes[...])
    }

    /// Appends one chunk of the snapshot (an encoded transaction of puts, in store order, after the
    /// previous chunk's entries).
    ///
    /// - Throws: ``SnapshotFileError/contentInvalid(index:detail:)`` when the chunk breaks the
    ///   format (the provider sent something a snapshot cannot hold); ``SnapshotFileError/io(path:operation:detail:)``.
    public func append(_ chunk: EncodedTransaction) throws(SnapshotFileError) {
        guard let version = header?.version, var content else {
            throw .io(path: temporaryPath, operation: "append to", detail: "begin(_:) was not called")
        }
        // Held only here while it changes, so its digest buffer is not copied on every chunk.
        self.content = nil
        defer { self.content = content }
        let kept = try Self.cutPaxosLog(chunk, to: version)
        guard kept.count > 0 else { return }
        try content.add(kept, index: chunks + 1)
        var record = [UInt8]()
        record.reserveCapacity(9)
        record.append(SnapshotFileReader.chunkTag)
        withUnsafeBytes(of: UInt32(kept.bytes.count).littleEndian) { record.append(contentsOf: $0) }
        withUnsafeBytes(of: CRC32C.checksum(kept.bytes).littleEndian) { record.append(contentsOf: $0) }
        try write(record[...])
        try write(kept.bytes)
        chunks += 1
    }

    /// Completes the file: writes the trailer, the header's summary (counts, digest, `createdMilliseconds`),
    /// syncs the file, renames it to ``path`` and syncs the directory. Returns the final header.
    ///
    /// - Throws: ``SnapshotFileError/contentInvalid(index:detail:)`` when the snapshot lacks part of
    ///   its Paxos log; ``SnapshotFileError/io(path:operation:detail:)``.
    public func finish(createdMilliseconds: UInt64) throws(SnapshotFileError) -> SnapshotFileHeader {
        guard var header, let content else {
            throw .io(path: temporaryPath, operation: "finish", detail: "begin(_:) was not called")
        }
        let digest = try content.finish()
        header.chunkCount = chunks
        header.keyCount = UInt64(digest.keyCount)
        header.byteCount = UInt64(digest.byteCount)
        header.sha256 = digest.sha256
        header.createdMilliseconds = createdMilliseconds
        try write(SnapshotFileReader.trailer(chunkCount: chunks, keyCount: header.keyCount)[...])
        let bytes = header.encoded()
        guard bytes.count == headerSize else {
            throw .io(path: temporaryPath, operation: "rewrite the header of", detail: "its size changed")
        }
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw Self.ioError(temporaryPath, "rewrite the header of") }
        guard fsync(descriptor) == 0 else { throw Self.ioError(temporaryPath, "fsync") }
        closeDescriptor()
        if !overwrite, access(path, F_OK) == 0 { throw .exists(path: path) }
        guard rename(temporaryPath, path) == 0 else { throw Self.ioError(path, "rename \(temporaryPath) to") }
        finished = true
        // The rename is durable only once the directory is.
        let directory = open(Self.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            defer { close(directory) }
            guard fsync(directory) == 0 else { throw Self.ioError(Self.directory(of: path), "fsync") }
        }
        self.header = header
        return header
    }

    /// Removes the temporary file (nothing at ``path`` is touched). Idempotent; a finished file stays.
    public func discard() {
        closeDescriptor()
        if !finished { unlink(temporaryPath) }
        header = nil
        content = nil
    }

    // MARK: Internals

    /// `chunk` as a restored store keeps it: `paxos/<n>` for `n` other than `version` dropped and
    /// `paxos/first_committed` set to `version`. The same bytes when nothing changes (every chunk
    /// before the `paxos` prefix).
    static func cutPaxosLog(_ chunk: EncodedTransaction, to version: UInt64) throws(SnapshotFileError) -> EncodedTransaction {
        let paxos = Array(PaxosLog.prefix.utf8), first = Array(PaxosLog.firstCommittedKey.utf8)
        let last = Array(PaxosLog.lastCommittedKey.utf8), current = Array(PaxosLog.key(for: version).utf8)
        var touched = false
        do {
            try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
                if operation.prefix.elementsEqual(paxos), !operation.key.elementsEqual(last), !operation.key.elementsEqual(current) {
                    touched = true
                }
            }
        } catch {
            throw .contentInvalid(index: 0, detail: "\(error)")
        }
        guard touched else { return chunk }
        var body = WireEncoder(reservingCapacity: chunk.bytes.count)
        var count: UInt32 = 0
        var versionBytes = [UInt8]()
        withUnsafeBytes(of: version.littleEndian) { versionBytes.append(contentsOf: $0) }
        do {
            try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
                let isPaxos = operation.prefix.elementsEqual(paxos)
                if isPaxos, !operation.key.elementsEqual(first), !operation.key.elementsEqual(last),
                   !operation.key.elementsEqual(current) {
                    return  // an older version of the log: the data already holds what it did
                }
                count += 1
                body.encodeVersionedStruct(version: 1, compat: 1) { op in
                    op.encode(operation.type.rawValue)
                    op.encode(UInt32(operation.prefix.count))
                    op.appendRaw(operation.prefix)
                    op.encode(UInt32(operation.key.count))
                    op.appendRaw(operation.key)
                    if isPaxos && operation.key.elementsEqual(first) {
                        op.encodeBlob(versionBytes)
                    } else {
                        op.encode(UInt32(operation.value.count))
                        op.appendRaw(operation.value)
                    }
                }
            }
        } catch {
            throw .contentInvalid(index: 0, detail: "\(error)")
        }
        let ops = body.finish()
        var encoder = WireEncoder(reservingCapacity: ops.count + 10)
        encoder.encodeVersionedStruct(version: StoreTransaction.encodingVersion, compat: StoreTransaction.encodingCompat) { e in
            e.encode(count)
            e.appendRaw(ops)
        }
        do { return try EncodedTransaction(encoder.finish()[...]) } catch {
            throw .contentInvalid(index: 0, detail: "re-encoding the Paxos log: \(error)")
        }
    }

    private func write(_ bytes: ArraySlice<UInt8>) throws(SnapshotFileError) {
        var done = 0
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { raw in Glibc.write(descriptor, raw.baseAddress! + done, raw.count - done) }
            if result < 0 {
                if errno == EINTR { continue }
                throw Self.ioError(temporaryPath, "write")
            }
            done += result
        }
        offset += UInt64(bytes.count)
    }

    private func closeDescriptor() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func ioError(_ path: String, _ operation: String) -> SnapshotFileError {
        .io(path: path, operation: operation, detail: String(cString: strerror(errno)))
    }
}
