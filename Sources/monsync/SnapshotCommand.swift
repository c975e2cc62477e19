import ArgumentParser
import Foundation
import MonSyncHealth
import MonSyncMessages
import MonSyncStore

/// `monsync snapshot …`: online backup of a live cluster into a file, its offline check, and the
/// restore of a store from it (docs/OPERATIONS.md, "Backup and restore").
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Back a live cluster up into a file, check a file, or restore a store from one.",
        discussion: """
        save streams a consistent snapshot of the sync targets from a monitor (as a backup client, \
        never a quorum member); status verifies a file offline; restore builds a store from one, \
        for disaster recovery when every monitor is lost. See docs/OPERATIONS.md.
        """,
        subcommands: [SnapshotSaveCommand.self, SnapshotStatusCommand.self, SnapshotRestoreCommand.self]
    )

    /// Prints `Error: message` on standard error and returns the exit status to throw.
    static func failure(_ message: String, status: Int32 = 1) -> ExitCode {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        return ExitCode(status)
    }

    /// Prints `value` as pretty, key-sorted JSON on standard output.
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// `12.3 MiB`.
    static func size(_ bytes: UInt64) -> String {
        HealthEvaluator.bytes(bytes)
    }

    /// `2025-01-31T12:00:00.123Z`.
    static func timestamp(milliseconds: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// The lines describing a file's header, as `status` and `save` print them.
    static func describe(_ header: SnapshotFileHeader, path: String, fileSize: UInt64) -> [String] {
        let source = header.source.rank >= 0 ? "mon.\(header.source.name) (rank \(header.source.rank)) \(header.source.address)"
                                             : header.source.address
        return [
            "file: \(path) (\(size(fileSize)))",
            "format: \(header.formatVersion)",
            "created: \(timestamp(milliseconds: header.createdMilliseconds))",
            "version: \(header.version) (the source's first_committed was \(header.sourceFirstCommitted))",
            "source: \(source)",
            "monmap: epoch \(header.monmapEpoch): " + header.monmap.map { "\($0.name)=\($0.address)" }.joined(separator: ", "),
            "prefixes: \(header.prefixes.joined(separator: ", "))",
            "chunks: \(header.chunkCount)",
            "digest: \(header.digest)",
        ]
    }
}

/// The JSON form of a snapshot file's header, and whether the file verified.
struct SnapshotReport: Encodable {
    var file: String
    var size: UInt64
    var format: UInt8
    var createdMilliseconds: UInt64
    var created: String
    var version: UInt64
    var sourceFirstCommitted: UInt64
    var source: Member
    var monmapEpoch: UInt32
    var monmap: [Member]
    var prefixes: [String]
    var chunks: UInt64
    var keys: UInt64
    var bytes: UInt64
    var sha256: String
    /// Whether every check passed (`status`; a file `save` wrote was checked as it was written).
    var valid: Bool
    /// The first defect found, when `valid` is false.
    var error: String?

    struct Member: Encodable {
        var rank: Int32
        var name: String
        var address: String
        init(_ entity: MonitorEntity) {
            rank = entity.rank
            name = entity.name
            address = entity.address
        }
    }

    init(_ header: SnapshotFileHeader, path: String, size: UInt64, error: String?) {
        file = path
        self.size = size
        format = header.formatVersion
        createdMilliseconds = header.createdMilliseconds
        created = SnapshotCommand.timestamp(milliseconds: header.createdMilliseconds)
        version = header.version
        sourceFirstCommitted = header.sourceFirstCommitted
        source = Member(header.source)
        monmapEpoch = header.monmapEpoch
        monmap = header.monmap.map(Member.init)
        prefixes = header.prefixes
        chunks = header.chunkCount
        keys = header.keyCount
        bytes = header.byteCount
        sha256 = header.digest.hex
        valid = error == nil
        self.error = error
    }
}
