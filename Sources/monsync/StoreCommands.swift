import ArgumentParser
import Foundation
import MonSyncCore
import MonSyncMonitor
import MonSyncStore

/// `monsync store …`: offline inspection and population of a node's store (the node must not be running).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect or populate a store directory offline (while no node has it open).",
        subcommands: [StoreDigestCommand.self, StoreDumpCommand.self, StoreLoadCommand.self]
    )

    /// The prefixes a monitor's store sync copies: `kv`, `kv_clients`, `monmap`, `paxos`.
    static var syncTargets: [String] { ServiceRegistry.standard.syncTargetNames }

    /// Every prefix a monitor writes: the sync targets, its bookkeeping and the protected prefix.
    static var allPrefixes: [String] {
        (syncTargets + [ServiceRegistry.bookkeepingPrefix, StoreLayout.protectedPrefix]).sorted()
    }

    /// Opens the existing store in `path`, refusing a directory that holds none (so nothing is created).
    static func openExisting(_ path: String) throws -> RocksDBStore {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("CURRENT"))
        else { throw UserFacingError.storeMissing(path) }
        do { return try RocksDBStore(path: path) } catch { throw UserFacingError.from(error, path: path) }
    }
}

/// `monsync store digest DIR`.
struct StoreDigestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Print the SHA-256 digest of a store's sync targets and its Paxos bounds.",
        discussion: """
        Two monitors at the same version have equal digests. Example:
          monsync store digest /var/lib/monsync/a
        """)

    @Argument(help: "The store directory.") var directory: String

    @Option(name: .customLong("prefix"), help: "Digest only these prefixes (repeatable; default: the sync targets kv, kv_clients, monmap, paxos).")
    var prefixes: [String] = []

    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        try await UserFacingError.reporting(storePath: directory) {
            let store = try StoreCommand.openExisting(directory)
            let prefixes = self.prefixes.isEmpty ? StoreCommand.syncTargets : self.prefixes
            let digest = try store.digest(of: prefixes)
            let log = PaxosLog(store: store)
            let (first, last) = (try log.firstCommitted(), try log.lastCommitted())
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let report = DigestReport(store: directory, prefixes: prefixes, sha256: digest.hex, keys: digest.keyCount,
                                          bytes: digest.byteCount, firstCommitted: first, lastCommitted: last)
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print("store: \(directory)")
                print("prefixes: \(prefixes.joined(separator: ", "))")
                print("paxos: first_committed \(first), last_committed \(last)")
                print("digest: \(digest)")
            }
        }
    }

    struct DigestReport: Encodable {
        var store: String
        var prefixes: [String]
        var sha256: String
        var keys: Int
        var bytes: Int
        var firstCommitted: UInt64
        var lastCommitted: UInt64
    }
}

/// `monsync store dump DIR`.
struct StoreDumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print a store's entries as prefix/key = value, in store order.",
        discussion: """
        Values are shown as quoted text when printable, else as hex, cut after --value-bytes. Example:
          monsync store dump /var/lib/monsync/a --prefix kv --limit 20
        """)

    @Argument(help: "The store directory.") var directory: String

    @Option(name: .customLong("prefix"), help: "Dump only these prefixes (repeatable; default: every prefix a monitor writes).")
    var prefixes: [String] = []

    @Option(help: "Stop after this many entries (0: no limit).") var limit: Int = 0

    @Option(help: "Bytes of each value to show.") var valueBytes: Int = 64

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be 0 (no limit) or more.") }
        guard valueBytes >= 0 else { throw ValidationError("--value-bytes must be 0 or more.") }
    }

    func run() async throws {
        try await UserFacingError.reporting(storePath: directory) {
            let store = try StoreCommand.openExisting(directory)
            let snapshot = try store.snapshot(of: prefixes.isEmpty ? StoreCommand.allPrefixes : prefixes)
            var shown = 0
            var output = ""
            _ = try snapshot.scan(after: .beginning) { (entry: StoreEntryView) throws(StoreError) -> Bool in
                if limit > 0 && shown >= limit { return false }
                let prefix = String(decoding: entry.prefix, as: UTF8.self)
                let key = String(decoding: entry.key, as: UTF8.self)
                output += "\(prefix)/\(key) = \(Printable.value(Array(entry.value), limit: valueBytes))\n"
                shown += 1
                if output.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(output.utf8))
                    output = ""
                }
                return true
            }
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }
}

/// `monsync store load DIR --keys N --value-size B`.
struct StoreLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Populate a store offline through its Paxos log, so a node started on it serves the data.",
        discussion: """
        Writes --keys keys of --value-size seeded random bytes under --prefix, --batch keys per \
        Paxos version, each version one atomic, durable write after the store's last_committed. \
        The first also requires the monitor features of this build, as a cluster of this build \
        running on the store would have. With --keep the log is then trimmed to its last --keep versions, so a monitor that starts \
        empty next to this one must run a full store sync, and the store is compacted (the trimmed \
        versions dropped), as a long-running monitor's would be. Example:
          monsync store load ./a --keys 100000 --value-size 1024 --keep 5
        """)

    @Argument(help: "The store directory (created if missing; removed again if the load fails there).") var directory: String
    @Option(help: "How many keys to write.") var keys: Int
    @Option(help: "Bytes per value.") var valueSize: Int
    @Option(help: "The store prefix to write under (kv is the key-value service's).") var prefix: String = KeyValueService.prefix
    @Option(help: "Seed of the value bytes.") var seed: UInt64 = 1
    @Option(help: "Keys per Paxos version.") var batch: Int = 100
    @Option(help: "Trim the log to this many versions at the end (default: keep them all).") var keep: UInt64?

    func validate() throws {
        guard keys > 0 else { throw ValidationError("--keys must be at least 1.") }
        guard (0...(16 << 20)).contains(valueSize) else { throw ValidationError("--value-size must be between 0 and 16777216 bytes.") }
        guard batch > 0 else { throw ValidationError("--batch must be at least 1.") }
        guard batch * valueSize <= 64 << 20 else {
            throw ValidationError("--batch × --value-size must stay within 64 MiB per Paxos version; lower --batch.")
        }
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1.") }
        let reserved = [PaxosLog.prefix, StoreLayout.protectedPrefix, ServiceRegistry.bookkeepingPrefix, KeyValueService.clientsPrefix]
        guard !reserved.contains(prefix) else {
            throw ValidationError("--prefix \(prefix) is reserved for the monitor; use kv or a prefix of your own.")
        }
        guard !prefix.isEmpty, !prefix.utf8.contains(0) else { throw ValidationError("--prefix must be non-empty and hold no NUL.") }
    }

    func run() async throws {
        let existed = FileManager.default.fileExists(atPath: directory)
        do {
            try await UserFacingError.reporting(storePath: directory) { try load() }
        } catch {
            // A directory this command created holds nothing anyone asked for: leave no half-written store behind.
            if !existed { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }
    }

    private func load() throws {
        let store = try RocksDBStore(path: directory)
        let log = PaxosLog(store: store)
        var version = try log.lastCommitted()
        let firstNew = version + 1
        var generator = SeededRandomNumberGenerator(seed: seed)
        let width = max(8, String(keys - 1).count)
        var written = 0
        let monmapService = MonmapService()
        let required = try monmapService.requiredFeatures(in: store)
        while written < keys {
            var transaction = StoreTransaction()
            if written == 0 && !required.isSuperset(of: .supported) {
                transaction.append(monmapService.transaction(requiring: required.union(.supported)))
            }
            for index in written..<min(keys, written + batch) {
                let number = String(index)
                let key = "key-" + String(repeating: "0", count: width - number.count) + number
                transaction.put(prefix, key, Self.randomBytes(valueSize, using: &generator))
            }
            written = min(keys, written + batch)
            version += 1
            try log.commit(version: version, transaction)
        }
        var first = try log.firstCommitted()
        if let keep, version - first + 1 > keep {
            first = version - keep + 1
            try log.trim(to: first)
            // The trimmed versions hold as much as the data itself: compact them away now, or a
            // node started on this store pays for it later, with compactions of hundreds of MiB
            // in the middle of whatever it is measured doing (BENCHMARKS.md, "The cluster while it syncs").
            try store.compact()
        }
        let digest = try store.digest(of: StoreCommand.syncTargets)
        print("loaded \(keys) keys of \(valueSize) bytes under \(prefix) into \(directory) as versions \(firstNew)...\(version)")
        print("paxos: first_committed \(first), last_committed \(version)")
        print("digest: \(digest)")
    }

    private static func randomBytes(_ count: Int, using generator: inout SeededRandomNumberGenerator) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            var word = generator.next()
            for _ in 0..<min(8, count - offset) {
                bytes[offset] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                offset += 1
            }
        }
        return bytes
    }
}
