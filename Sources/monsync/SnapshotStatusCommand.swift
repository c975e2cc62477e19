import ArgumentParser
import Foundation
import MonSyncStore

/// `monsync snapshot status FILE`: verifies a snapshot file offline and prints its header.
struct SnapshotStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Verify a snapshot file offline and print its header.",
        discussion: """
        Reads the whole file: the header's CRC, every chunk's CRC32C and encoding, the order and \
        shape of the entries, the trailer, and the digest and counts the header records. Exits 0 \
        when every check passes, 1 when one fails (the message names the first defect and where) \
        or the file cannot be read. Example:
          monsync snapshot status backup.msnap
        """)

    @Argument(help: "The snapshot file.") var file: String
    @Flag(help: "Print JSON instead of text (with `valid` and, when not, `error`).") var json = false

    func run() async throws {
        let reader: SnapshotFileReader
        do { reader = try SnapshotFileReader(path: file) } catch {
            if json {
                try SnapshotCommand.printJSON(Unreadable(file: file, error: "\(error)"))
            }
            throw SnapshotCommand.failure("\(file) is not a usable snapshot: \(error)")
        }
        var defect: SnapshotFileError?
        do { try reader.verify() } catch { defect = error }
        if json {
            try SnapshotCommand.printJSON(SnapshotReport(reader.header, path: file, size: reader.size, error: defect.map { "\($0)" }))
        } else {
            for line in SnapshotCommand.describe(reader.header, path: file, fileSize: reader.size) { print(line) }
            if defect == nil { print("verified: every chunk's CRC32C, the entries, the trailer and the digest") }
        }
        if let defect { throw SnapshotCommand.failure("\(file) is damaged: \(defect); do not restore from it") }
    }

    /// The JSON answer for a file whose header cannot be read.
    struct Unreadable: Encodable {
        var file: String
        var valid = false
        var error: String
    }
}
