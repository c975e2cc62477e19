/// Why a snapshot file could not be written, read or trusted.
///
/// Every defect of a file is one of these cases, found before anything built from it is kept:
/// a damaged or cut file is refused with the place it went wrong, never read past.
public enum SnapshotFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file system refused an operation (open, write, fsync, rename…) on `path`.
    case io(path: String, operation: String, detail: String)
    /// The destination exists and overwriting was not asked for.
    case exists(path: String)
    /// The file does not start with the snapshot magic `MSYNSNAP`.
    case notASnapshot
    /// The file's format is newer than this reader knows.
    case unsupportedFormat(compat: UInt8, supported: UInt8)
    /// The header does not decode, or its CRC32C does not match.
    case headerCorrupt(String)
    /// The file ends at `offset`, before the part `detail` names.
    case truncated(offset: UInt64, detail: String)
    /// Chunk `index` (from 1), whose record starts at `offset`, does not match its CRC32C.
    case chunkChecksumMismatch(index: UInt64, offset: UInt64)
    /// Chunk `index` is damaged in another way: its length, its tag, or its transaction does not decode.
    case chunkCorrupt(index: UInt64, offset: UInt64, detail: String)
    /// The entries break a rule of the format (order, operation type, prefix, the Paxos bounds);
    /// `index` is the chunk, or 0 for a rule about the whole file (a Paxos key missing).
    case contentInvalid(index: UInt64, detail: String)
    /// The trailer is damaged, or disagrees with the chunks read.
    case trailerCorrupt(String)
    /// Bytes follow the trailer.
    case trailingBytes(offset: UInt64)
    /// The entries hash to another digest than the header records.
    case digestMismatch(recorded: StoreDigest, computed: StoreDigest)
    /// The header's counts disagree with the chunks read.
    case countMismatch(String)
    /// A store operation failed while a file was being restored into it.
    case store(StoreError)

    /// One sentence for logs and the command line.
    public var description: String {
        switch self {
        case let .io(path, operation, detail): "cannot \(operation) \(path): \(detail)"
        case let .exists(path): "\(path) exists"
        case .notASnapshot: "not a snapshot file (no MSYNSNAP magic)"
        case let .unsupportedFormat(compat, supported):
            "its format needs a reader of version \(compat) or later; this monsync reads version \(supported)"
        case let .headerCorrupt(detail): "the header is corrupt: \(detail)"
        case let .truncated(offset, detail): "the file is truncated at byte \(offset): \(detail)"
        case let .chunkChecksumMismatch(index, offset): "chunk \(index) (at byte \(offset)) fails its CRC32C"
        case let .chunkCorrupt(index, offset, detail): "chunk \(index) (at byte \(offset)) is corrupt: \(detail)"
        case let .contentInvalid(index, detail):
            index == 0 ? "the entries break the format: \(detail)" : "chunk \(index) breaks the format: \(detail)"
        case let .trailerCorrupt(detail): "the trailer is corrupt: \(detail)"
        case let .trailingBytes(offset): "bytes follow the trailer at byte \(offset)"
        case let .digestMismatch(recorded, computed): "the entries hash to \(computed), the header records \(recorded)"
        case let .countMismatch(detail): "the header's counts disagree with the chunks: \(detail)"
        case let .store(error): "store error: \(error)"
        }
    }
}
