// A child process for the crash tests: writes to a RocksDB store as fast as it
// can, until it is killed with SIGKILL.
//
// Usage: monsync-store-crasher <store-directory> [commits | sync]
//
// `commits` (default): version v's transaction writes `crash/slot-0` … `crash/slot-7`,
// each holding the 8-byte version followed by a filler of a size that varies with v
// (up to 24 KiB, so a kill often lands in the middle of a large write), erases
// `crash/marker-<v-1>` and puts `crash/marker-<v>`. After any kill, reopening must
// show one whole version: `paxos/last_committed` = v, every slot = v, and exactly
// one marker, `marker-<v>`.
//
// `sync`: round r stages a full copy of prefix `sync` (`SyncCrash.keys` keys whose
// values start with r) in chunks, then commits the staging area with an epilogue
// that sets `mon_sync/last_committed_floor` = r. At startup a leftover in-sync
// marker is abandoned (start over). After any kill, the live `sync` prefix must be
// exactly one round's copy, the round named by the floor, whatever the marker says.
import Foundation
import MonSyncStore

enum SyncCrash {
    static let keys = 300
}

@main
struct StoreCrasher {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 || (arguments.count == 3 && ["commits", "sync"].contains(arguments[2])) else {
            FileHandle.standardError.write(Data("usage: monsync-store-crasher <store-directory> [commits | sync]\n".utf8))
            exit(2)
        }
        do {
            let store = try RocksDBStore(path: arguments[1], configuration: .init(bulkLoad: .sstIngest, sstFileSize: 256 * 1024))
            if arguments.count == 3 && arguments[2] == "sync" {
                try syncForever(store)
            } else {
                try commitForever(store)
            }
        } catch {
            FileHandle.standardError.write(Data("monsync-store-crasher: \(error)\n".utf8))
            exit(1)
        }
    }

    static func ready(_ state: UInt64) {
        FileHandle.standardOutput.write(Data("ready \(state)\n".utf8))
    }

    static func commitForever(_ store: RocksDBStore) throws {
        let log = PaxosLog(store: store)
        var version = try log.lastCommitted()
        ready(version)
        while true {
            version += 1
            var transaction = StoreTransaction()
            for slot in 0..<8 {
                let filler = Int((version &* 2_654_435_761 &+ UInt64(slot) &* 40_503) % (24 * 1024))
                var value = [UInt8](repeating: UInt8(truncatingIfNeeded: version), count: 8 + filler)
                withUnsafeBytes(of: version.littleEndian) { value.replaceSubrange(0..<8, with: $0) }
                transaction.put("crash", "slot-\(slot)", value)
            }
            if version > 1 { transaction.erase("crash", "marker-\(version - 1)") }
            transaction.put("crash", "marker-\(version)", [1])
            try log.commit(version: version, transaction)
        }
    }

    static func syncForever(_ store: RocksDBStore) throws {
        if try store.syncMarker() != nil { try store.abandonStaging() }
        var round = try store.lastCommittedFloor()
        ready(round)
        while true {
            round += 1
            try store.beginStaging(targets: ["sync"])
            var chunk = StoreTransaction()
            for index in 0..<SyncCrash.keys {
                var value = withUnsafeBytes(of: round.littleEndian) { Array($0) }
                value.append(contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 2048))
                chunk.put("sync", String(format: "k%05d", index), value)
                if chunk.count == 50 {
                    try store.stage(chunk)
                    chunk = StoreTransaction()
                }
            }
            try store.stage(chunk)
            var epilogue = StoreTransaction()
            epilogue.put(StoreLayout.protectedPrefix, StoreLayout.lastCommittedFloorKey, uint64: round)
            try store.commitStaging(applying: epilogue)
        }
    }
}
