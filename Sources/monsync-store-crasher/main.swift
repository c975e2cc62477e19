// A child process for the crash tests: commits numbered Paxos versions to a
// RocksDB store as fast as it can, until it is killed.
//
// Usage: monsync-store-crasher <store-directory>
//
// Version v's transaction writes `crash/slot-0` … `crash/slot-7`, each holding
// the 8-byte version followed by a filler of a size that varies with v (up to
// 24 KiB, so a kill often lands in the middle of a large write), erases
// `crash/marker-<v-1>` and puts `crash/marker-<v>`. After any kill, reopening
// must show one whole version: `paxos/last_committed` = v, every slot = v, and
// exactly one marker, `marker-<v>`. The test checks that.
import Foundation
import MonSyncStore

@main
struct StoreCrasher {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: monsync-store-crasher <store-directory>\n".utf8))
            exit(2)
        }
        do {
            let store = try RocksDBStore(path: arguments[1])
            let log = PaxosLog(store: store)
            var version = try log.lastCommitted()
            FileHandle.standardOutput.write(Data("ready \(version)\n".utf8))
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
        } catch {
            FileHandle.standardError.write(Data("monsync-store-crasher: \(error)\n".utf8))
            exit(1)
        }
    }
}
