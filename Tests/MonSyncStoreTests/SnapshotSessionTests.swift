import Clocks
import MonSyncCore
import MonSyncStore
import Testing

@Suite("Snapshot sessions")
struct SnapshotSessionTests {
    @Test(arguments: Backend.allCases)
    func sessionsPinTheirSnapshotAndExpireWhenIdle(_ backend: Backend) async throws {
        let test = try backend.makeStore()
        try test.store.put("paxos", "1", [1])
        let clock = TestClock()
        let sessions = SnapshotSessions(store: test.store, idleTimeout: .seconds(30), maxSessions: 2, timebase: Timebase(clock))
        let first = try sessions.open(prefixes: ["paxos"])
        try test.store.put("paxos", "2", [2])
        let second = try sessions.open(prefixes: ["paxos"])
        #expect(first != second)
        #expect(throws: StoreError.tooManySessions(limit: 2)) { try sessions.open(prefixes: ["paxos"]) }

        #expect(try sessions.chunk(session: first, after: .beginning).keyCount == 1)
        #expect(try sessions.chunk(session: second, after: .beginning).keyCount == 2)

        await clock.advance(by: .seconds(20))
        _ = try sessions.chunk(session: second, after: .beginning)  // keeps `second` alive
        await clock.advance(by: .seconds(10))
        #expect(sessions.expireIdle() == [first])
        #expect(throws: StoreError.unknownSession(first)) { try sessions.chunk(session: first, after: .beginning) }
        #expect(sessions.sessions.map(\.id) == [second])
        #expect(sessions.sessions.first?.lastUsed == .seconds(20))

        #expect(sessions.release(second))
        #expect(!sessions.release(second))
        #expect(sessions.sessions.isEmpty)
        _ = try sessions.open(prefixes: ["paxos"])  // capacity is free again
    }

    @Test func expiryLoopRunsOnTheInjectedClock() async throws {
        let store = InMemoryStore()
        let clock = TestClock()
        let sessions = SnapshotSessions(store: store, idleTimeout: .seconds(30), timebase: Timebase(clock))
        let id = try sessions.open(prefixes: ["paxos"])
        let loop = Task { await sessions.runExpiry(every: .seconds(10)) }
        await clock.advance(by: .seconds(20))
        #expect(sessions.sessions.map(\.id) == [id])
        // The loop wakes every 10 s of the test clock and expires the session once it is 30 s idle.
        // Step the clock (the loop task may start late on a busy machine) until it has, within 60 s.
        for _ in 0..<60 where !sessions.sessions.isEmpty {
            await clock.advance(by: .seconds(1))
            for _ in 0..<50 { await Task.yield() }
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(sessions.sessions.isEmpty)
        loop.cancel()
        await loop.value
    }
}
