import MonSyncCore
import MonSyncMessages
import MonSyncStore

/// The Paxos log as a store snapshot shows it: first and last committed, and the versions after a point.
struct PaxosImage {
    var firstCommitted: UInt64 = 0
    var lastCommitted: UInt64 = 0
    /// Encoded transactions of the versions above `versionsAfter` (only those, to bound memory).
    var versions: [UInt64: [UInt8]] = [:]

    /// Reads the `paxos` prefix of `snapshot` once; without a `floor`, only its two bounds.
    init(snapshot: any StoreSnapshot, versionsAfter floor: UInt64) throws(StoreError) {
        var image = PaxosImage()
        // Version keys are decimal digits, which sort before ":" and the bounds' keys after it:
        // without a floor no version is needed, and a scan from ":" skips them all in one seek
        // (measured: 156 ms to step over a loaded store's five versions, each a bulk load's data).
        let start = floor > 0 ? "" : ":"
        _ = try snapshot.scan(after: SyncKey(prefix: PaxosLog.prefix, key: start)) { entry in
            guard entry.prefix.elementsEqual(PaxosLog.prefix.utf8) else { return false }
            let key = String(decoding: entry.key, as: UTF8.self)
            switch key {
            case PaxosLog.firstCommittedKey: image.firstCommitted = Self.uint64(entry.value)
            case PaxosLog.lastCommittedKey: image.lastCommitted = Self.uint64(entry.value)
            default:
                if floor > 0, let version = UInt64(key), version > floor { image.versions[version] = Array(entry.value) }
            }
            return true
        }
        // A version above last_committed is an accepted-but-uncommitted value: not part of the image.
        image.versions = image.versions.filter { $0.key <= image.lastCommitted }
        self = image
    }

    private init() {}

    static func uint64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count == 8 else { return 0 }
        return UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
    }
}
