import ArgumentParser
import Foundation
import MonSyncCore
import MonSyncMonitor
import MonSyncStore

/// `monsync snapshot restore FILE --store DIR --name N --monmap …`: builds a monitor's store from a
/// snapshot file, for disaster recovery when every monitor is lost.
struct SnapshotRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Build a monitor's store from a snapshot file (disaster recovery when every monitor is lost).",
        discussion: """
        Reads and checks the whole file as `snapshot status` does while it loads it, and keeps the \
        store only if every check passed. The store holds the snapshot's data at its Paxos version \
        (first_committed = last_committed = that version) and the monmap given. Restore the same \
        file into one fresh directory per monitor, then start each with `monsync node`: they form \
        a quorum, and `monsync store digest` of each equals the file's digest until they commit \
        anything new. The directory must not exist or be empty. Exits 0 when restored, 1 when not \
        (nothing is left in the directory), 64 on a usage error. Example:
          monsync snapshot restore backup.msnap --store /var/lib/monsync/a --name a --config monmap.conf
        """)

    @Argument(help: "The snapshot file.") var file: String
    @Option(help: "The store directory to create (it must not exist, or be empty).") var store: String
    @Option(help: "The monitor this store is for (a name in the monmap).") var name: String

    @Option(help: ArgumentHelp("The monitors of the restored cluster, as name=URL pairs separated by commas, ranks in order.",
                               valueName: "a=tcp://127.0.0.1:7001,b=…"))
    var monmap: String?

    @Option(help: ArgumentHelp("A file with one name=URL line per monitor; an alternative to --monmap.", valueName: "file"))
    var config: String?

    @Flag(help: "Print JSON instead of text.") var json = false

    func validate() throws {
        guard (monmap == nil) != (config == nil) else { throw ValidationError("Give the restored cluster's monitors with --monmap or --config (one of them).") }
    }

    func run() async throws {
        let map: MonMap
        do {
            var pairs: [(name: String, address: String)] = []
            if let monmap { pairs = try MonMap(parsing: monmap).members.map { ($0.name, $0.address) } }
            if let config { pairs = try ClusterOptions.readConfig(config) }
            map = try MonMap(named: pairs)
        } catch let error as UserFacingError {
            throw SnapshotCommand.failure("\(error)", status: 64)
        } catch {
            throw SnapshotCommand.failure("\(UserFacingError.invalidMonmap("\(error)"))", status: 64)
        }
        guard map.member(named: name) != nil else {
            throw SnapshotCommand.failure("\(UserFacingError.notInMonmap(name: name, members: map.members.map(\.name)))", status: 64)
        }
        let reader: SnapshotFileReader
        do { reader = try SnapshotFileReader(path: file) } catch {
            throw SnapshotCommand.failure("\(file) is not a usable snapshot: \(error)")
        }
        let existed = FileManager.default.fileExists(atPath: store)
        if existed {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: store)) ?? ["?"]
            guard contents.isEmpty else {
                throw SnapshotCommand.failure("\(store) is not empty; restore into a new directory (a restore never writes over a store)")
            }
        }
        let digest: StoreDigest
        do {
            digest = try restore(reader, into: map)
        } catch {
            // Nothing of a failed restore may look like a store: remove what this command created.
            if existed {
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: store)) ?? [] {
                    try? FileManager.default.removeItem(atPath: (store as NSString).appendingPathComponent(entry))
                }
            } else {
                try? FileManager.default.removeItem(atPath: store)
            }
            if let error = error as? SnapshotFileError, case let .store(storeError) = error {
                throw SnapshotCommand.failure("\(UserFacingError.from(storeError, path: store)); nothing was restored")
            }
            if let error = error as? StoreError {
                throw SnapshotCommand.failure("\(UserFacingError.from(error, path: store)); nothing was restored")
            }
            throw SnapshotCommand.failure("\(file) cannot be restored: \(error); nothing was restored")
        }
        let header = reader.header
        if json {
            try SnapshotCommand.printJSON(Report(file: file, store: store, name: name, version: header.version,
                                                 sha256: digest.hex, keys: digest.keyCount, bytes: digest.byteCount))
        } else {
            print("restored \(file) into \(store) for mon.\(name): version \(header.version), \(digest.keyCount) keys")
            print("paxos: first_committed \(header.version), last_committed \(header.version)")
            print("digest: \(digest)")
        }
    }

    /// Creates the store and loads the file into it; the digest is read back from the store.
    private func restore(_ reader: SnapshotFileReader, into map: MonMap) throws -> StoreDigest {
        let database = try RocksDBStore(path: store)
        defer { _ = database.close() }
        var epilogue = StoreTransaction()
        // The restored cluster follows the map given here, not the one the snapshot's data commits
        // (`monmap/current`, the old cluster's members at its own epoch): a restored monitor starts
        // from the newest map its store holds, so this one is numbered past the saved cluster's.
        let restoredMap = (try? MonMap(epoch: reader.header.monmapEpoch &+ 1, members: map.members)) ?? map
        epilogue.setLatestMonmap(restoredMap.encoded())
        let digest = try SnapshotRestore.restore(reader, into: database, epilogue: epilogue)
        guard digest == reader.header.digest else {
            throw SnapshotFileError.digestMismatch(recorded: reader.header.digest, computed: digest)
        }
        return digest
    }

    /// The JSON answer.
    struct Report: Encodable {
        var file: String
        var store: String
        var name: String
        var version: UInt64
        var sha256: String
        var keys: Int
        var bytes: Int
    }
}
