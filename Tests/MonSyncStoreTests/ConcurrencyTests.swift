import Foundation
import MonSyncCore
import MonSyncStore
import Testing

@Suite("Concurrent use")
struct ConcurrencyTests {
    /// Writers commit transactions that keep `pair/a == pair/b` while readers take snapshots
    /// and scan them, and a sync stages and swaps another prefix: every snapshot sees a
    /// consistent pair, and nothing races (the suite also runs under the thread sanitizer).
    @Test(arguments: Backend.allCases)
    func writersReadersAndAStagingAreaShareOneStore(_ backend: Backend) async throws {
        let test = try backend.makeStore()
        let store = test.store
        var initial = StoreTransaction()
        initial.put("pair", "a", RocksDBTestSupport.le(0))
        initial.put("pair", "b", RocksDBTestSupport.le(0))
        try store.apply(initial)

        try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    for step in 1...40 {
                        let value = RocksDBTestSupport.le(UInt64(writer * 1000 + step))
                        var transaction = StoreTransaction()
                        transaction.put("pair", "a", value)
                        transaction.put("pair", "b", value)
                        transaction.put("log", "w\(writer)-\(step)", value)
                        try store.apply(transaction)
                    }
                    return 0
                }
            }
            for _ in 0..<2 {
                group.addTask {
                    var checked = 0
                    for _ in 0..<40 {
                        let entries = try store.snapshot(of: ["pair"]).allEntries()
                        #expect(entries.count == 2)
                        #expect(entries.first?.1 == entries.last?.1, "a snapshot saw half a transaction")
                        checked += 1
                    }
                    return checked
                }
            }
            group.addTask {
                try store.beginStaging(targets: ["synced"])
                for chunk in 0..<20 {
                    var transaction = StoreTransaction()
                    for index in 0..<50 { transaction.put("synced", String(format: "%04d", chunk * 50 + index), [UInt8(chunk)]) }
                    try store.stage(transaction)
                }
                try store.commitStaging()
                return 0
            }
            var total = 0
            for try await checked in group { total += checked }
            #expect(total == 80)
        }
        #expect(try store.snapshot(of: ["synced"]).allEntries().count == 1000)
        #expect(try store.snapshot(of: ["log"]).allEntries().count == 80)
        #expect(try store.get("pair", "a") == store.get("pair", "b"))
    }
}
