import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncStore
import Testing

/// The monitor shell's write batching: a step's persists folded into one write, and the overlay
/// that lets later steps of a run read what earlier ones decided.
@Suite("Monitor shell: one synced write per step and per run")
struct ShellBatchingTests {
    let peer: TransportAddress = "loopback://mon.b"

    private func transaction(_ key: String, _ value: String) -> StoreTransaction {
        var transaction = StoreTransaction()
        transaction.put("kv", key, Array(value.utf8))
        return transaction
    }

    private func commit(_ version: UInt64) -> MMonPaxos {
        MMonPaxos(op: .commit, epoch: 2, firstCommitted: 1, lastCommitted: version)
    }

    @Test("the persists of a step become one write at the first, their operations in order; the rest keep their order")
    func persistsMerged() throws {
        var erase = StoreTransaction()
        erase.erase("kv", "a")
        let actions: [MonitorAction] = [
            .cancel(.probe), .persist(transaction("a", "1")), .send(commit(1), to: peer),
            .arm(.paxosRound, at: .seconds(1), generation: 7), .persist(erase), .persist(transaction("b", "2")),
            .send(commit(2), to: peer),
        ]
        let (merged, persists) = Monitor.mergedPersists(actions)
        #expect(persists == 3)
        #expect(merged.map(\.description) == [actions[0], .persist(StoreTransaction()), actions[2], actions[3], actions[6]].map(\.description)
            .map { $0 == "persist(0 ops)" ? "persist(3 ops)" : $0 })
        guard case let .persist(write) = merged[1] else {
            Issue.record("no persist at the first one's place")
            return
        }
        #expect(write.operations == transaction("a", "1").operations + erase.operations + transaction("b", "2").operations)
        // Applied as one write, they leave what the three writes in order would.
        let store = InMemoryStore()
        try store.apply(write)
        #expect(try store.get("kv", "a") == nil)
        #expect(try store.get("kv", "b") == Array("2".utf8))
    }

    @Test("a list with one persist or none is left as it is")
    func singlePersistUnchanged() {
        let actions: [MonitorAction] = [.persist(transaction("a", "1")), .send(commit(1), to: peer)]
        let (same, persists) = Monitor.mergedPersists(actions)
        #expect(persists == 1)
        #expect(same.map(\.description) == actions.map(\.description))
        #expect(Monitor.mergedPersists([.cancel(.probe)]).persists == 0)
    }

    @Test("a send-ahead leaves before the persists, unless an ordered send already addressed its peer; the rest keep their order")
    func sendsAhead() {
        let other: TransportAddress = "loopback://mon.c"
        let client: TransportAddress = "loopback://client"
        let reply = MMonCommandReply(op: .put, tid: 1, result: .ok)
        let actions: [MonitorAction] = [
            .persist(transaction("a", "1")), .sendAhead(commit(1), to: peer), .send(reply, to: client),
            .send(commit(1), to: other), .sendAhead(commit(2), to: other), .persist(transaction("b", "2")),
            .sendAhead(commit(3), to: peer), .arm(.paxosRound, at: .seconds(1), generation: 1),
        ]
        let ordered = MonitorAction.inExecutionOrder(actions)
        // mon.b's two ahead of everything, in their order; mon.c's COMMIT 2 stays behind the ordered
        // COMMIT 1 to mon.c (a link keeps its order), so after the persist that precedes that one.
        #expect(ordered.map(\.description) == [actions[1], actions[6], actions[0], actions[2], actions[3], actions[4], actions[5], actions[7]].map(\.description))
        // Without a send-ahead the list is the machine's own.
        let plain: [MonitorAction] = [.persist(transaction("a", "1")), .send(commit(1), to: peer)]
        #expect(MonitorAction.inExecutionOrder(plain).map(\.description) == plain.map(\.description))
        // The shell then merges the persists where the first of the rest was.
        let (merged, persists) = Monitor.mergedPersists(ordered)
        #expect(persists == 2 && merged.count == ordered.count - 1)
        #expect(merged.prefix(3).map(\.description) == [actions[1].description, actions[6].description, "persist(2 ops)"])
    }

    @Test("held writes are read through the overlay, newest first, and forgotten on clear; nothing reaches the store")
    func overlay() throws {
        let base = InMemoryStore()
        try base.apply(transaction("a", "old"))
        let overlay = DeferredWrites(base: base)
        overlay.hold(transaction("a", "new"))
        var erase = StoreTransaction()
        erase.erasePrefix("kv")
        overlay.hold(erase)
        overlay.hold(transaction("b", "2"))
        #expect(try overlay.get("kv", "a") == nil)
        #expect(try overlay.get("kv", "b") == Array("2".utf8))
        #expect(try base.get("kv", "a") == Array("old".utf8))
        #expect(try base.get("kv", "b") == nil)
        // A snapshot would miss the held writes: refused while any are held.
        #expect(throws: StoreError.self) { _ = try overlay.snapshot(of: ["kv"]) }
        overlay.clear()
        #expect(overlay.isEmpty)
        #expect(try overlay.get("kv", "a") == Array("old".utf8))
        _ = try overlay.snapshot(of: ["kv"])
    }
}
