import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import MonSyncMessages

/// Where `put` takes its value from: the VALUE argument, a file (`--value-file PATH`), or standard
/// input (`--value-file -`). A file or standard input is read byte for byte: any bytes, not only text.
enum ValueInput: Equatable {
    /// The argument's UTF-8 bytes.
    case argument(String)
    /// The file at this path.
    case file(String)
    /// Standard input, to its end.
    case standardInput

    /// The input named by `put`'s VALUE argument and `--value-file` (exactly one of them).
    init(argument: String?, file: String?) throws(ValidationError) {
        switch (argument, file) {
        case let (argument?, nil): self = .argument(argument)
        case (nil, "-"): self = .standardInput
        case let (nil, path?): self = .file(path)
        case (nil, nil): throw ValidationError("give the value: as the VALUE argument, or with --value-file PATH (- for standard input).")
        case (_?, _?): throw ValidationError("give the value once: as the VALUE argument or with --value-file, not both.")
        }
    }

    /// What the value is read from, for messages.
    var described: String {
        switch self {
        case .argument: "the VALUE argument"
        case let .file(path): path
        case .standardInput: "standard input"
        }
    }

    /// The value's bytes; never more than `limit` of them are kept, so a huge input is refused
    /// without being held in memory.
    ///
    /// - Throws: ``UserFacingError/valueTooLarge(source:size:limit:)`` past `limit` (the monitors'
    ///   TOO_LARGE, found before anything is sent), ``UserFacingError/unreadableValue(source:reason:)``.
    func read(limit: Int = MMonCommand.maximumValueLength) throws(UserFacingError) -> [UInt8] {
        let descriptor: Int32
        switch self {
        case let .argument(text):
            let bytes = Array(text.utf8)
            guard bytes.count <= limit else { throw .valueTooLarge(source: described, size: bytes.count, limit: limit) }
            return bytes
        case let .file(path):
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw .unreadableValue(source: path, reason: String(cString: strerror(errno))) }
        case .standardInput:
            descriptor = STDIN_FILENO
        }
        defer { if self != .standardInput { close(descriptor) } }
        var status = stat()
        // A regular file's size is known up front: refuse it whole, naming its size.
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, Int(status.st_size) > limit {
            throw .valueTooLarge(source: described, size: Int(status.st_size), limit: limit)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadableValue(source: described, reason: String(cString: strerror(errno)))
            }
            bytes += chunk[..<count]
            // One byte past the limit is enough to know; the rest is never read.
            if bytes.count > limit { throw .valueTooLarge(source: described, size: nil, limit: limit) }
        }
        return bytes
    }
}
