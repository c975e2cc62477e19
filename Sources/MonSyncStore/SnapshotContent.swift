/// The rules a snapshot file's entries obey, checked entry by entry while they are written or
/// read, with their digest.
///
/// A snapshot file holds exactly the sync targets of the store a restore builds, so a digest of
/// its entries is the digest of every store restored from it. The rules:
///
/// - every operation is a PUT under one of the header's prefixes;
/// - entries come in store order, each strictly after the one before (prefix, then key, bytewise):
///   no duplicates, nothing missed by a sort;
/// - the Paxos log holds the snapshot's version alone: `paxos/first_committed` and
///   `paxos/last_committed` both equal to it (u64 little-endian) and `paxos/<version>`, present,
///   and no other `paxos` key. (A restored monitor starts as a synced one does, at that version;
///   the older versions only replay what the data already holds.)
struct SnapshotContent {
    let version: UInt64
    private let prefixes: Set<[UInt8]>
    private var lastPrefix: [UInt8] = []
    private var lastKey: [UInt8] = []
    private var started = false
    private var paxosSeen: Set<String> = []
    private(set) var digester = StoreDigester()

    private static let paxos = Array(PaxosLog.prefix.utf8)
    private static let first = Array(PaxosLog.firstCommittedKey.utf8)
    private static let last = Array(PaxosLog.lastCommittedKey.utf8)

    init(version: UInt64, prefixes: [String]) {
        self.version = version
        self.prefixes = Set(prefixes.map { Array($0.utf8) })
    }

    /// The key `paxos/<version>`.
    private var versionKey: [UInt8] { Array(PaxosLog.key(for: version).utf8) }

    /// Checks and digests every entry of chunk `index`.
    mutating func add(_ chunk: EncodedTransaction, index: UInt64) throws(SnapshotFileError) {
        do {
            try chunk.forEach { (operation: EncodedOperation) throws(StoreError) in
                try add(operation)
            }
        } catch {
            // `add` reports rule breaks as invalidArgument; nothing else throws in a forEach over validated bytes.
            throw .contentInvalid(index: index, detail: "\(error)".replacingOccurrences(of: "invalid argument: ", with: ""))
        }
    }

    private mutating func add(_ operation: EncodedOperation) throws(StoreError) {
        guard operation.type == .put else {
            throw .invalidArgument("a \(operation.type) operation (a snapshot holds puts only)")
        }
        let prefix = operation.prefix, key = operation.key
        if started && prefix.elementsEqual(lastPrefix) {
            guard lastKey.lexicographicallyPrecedes(key) else {
                throw .invalidArgument("\(Self.describe(prefix, key)) does not come after \(Self.describe(lastPrefix, lastKey)) (out of order or repeated)")
            }
        } else {
            // A new prefix (the prefix is checked once per run of its keys, not per entry).
            guard prefixes.contains(Array(prefix)) else {
                throw .invalidArgument("an entry under \(String(decoding: prefix, as: UTF8.self).debugDescription), not one of the snapshot's prefixes")
            }
            // Prefixes hold no NUL, so comparing them alone gives the order of `prefix ‖ 00 ‖ key`.
            guard !started || lastPrefix.lexicographicallyPrecedes(prefix) else {
                throw .invalidArgument("\(Self.describe(prefix, key)) does not come after \(Self.describe(lastPrefix, lastKey)) (out of order)")
            }
            lastPrefix = Array(prefix)
            started = true
        }
        lastKey.removeAll(keepingCapacity: true)
        lastKey.append(contentsOf: key)
        if prefix.elementsEqual(Self.paxos) { try checkPaxos(key: key, value: operation.value) }
        digester.add(prefix: prefix, key: key, value: operation.value)
    }

    private mutating func checkPaxos(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(StoreError) {
        let name = String(decoding: key, as: UTF8.self)
        if key.elementsEqual(Self.first) || key.elementsEqual(Self.last) {
            guard value.count == 8 else { throw .invalidArgument("paxos/\(name) is not 8 bytes") }
            let stored = value.loadUnaligned(as: UInt64.self).littleEndian
            guard stored == version else { throw .invalidArgument("paxos/\(name) is \(stored), not the snapshot's version \(version)") }
        } else if !key.elementsEqual(versionKey) {
            throw .invalidArgument("paxos/\(name) is in the file; a snapshot keeps only version \(version) of the log")
        }
        paxosSeen.insert(name)
    }

    /// The digest of every entry, once the last chunk is in; throws if the Paxos log is incomplete.
    func finish() throws(SnapshotFileError) -> StoreDigest {
        if prefixes.contains(Self.paxos) {
            for required in [PaxosLog.firstCommittedKey, PaxosLog.lastCommittedKey, PaxosLog.key(for: version)]
            where !paxosSeen.contains(required) {
                throw .contentInvalid(index: 0, detail: "paxos/\(required) is missing")
            }
        }
        return digester.finalize()
    }

    private static func describe(_ prefix: some Collection<UInt8>, _ key: some Collection<UInt8>) -> String {
        "\(String(decoding: Array(prefix), as: UTF8.self))/\(String(decoding: Array(key), as: UTF8.self).debugDescription)"
    }
}
