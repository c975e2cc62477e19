import Clocks
import MonSyncCore
@testable import MonSyncMonitor
import MonSyncTestSupport
import Testing

/// The client's deadlines in one heap with one sleeping task (``ClientTimers``), on a test clock.
@Suite("Client: the deadline heap", .timeLimit(.minutes(1)))
struct ClientTimersTests {
    final class Fired: Sendable {
        let order = LockedState<[Int]>([])
        func record(_ n: Int) { order.withLock { $0.append(n) } }
        var all: [Int] { order.withLock { $0 } }
    }

    @Test("deadlines fire in order, an earlier one scheduled later included; a cancelled one never fires")
    func order() async throws {
        let clock = TestClock()
        let timers = ClientTimers(timebase: Timebase(clock))
        let fired = Fired()
        timers.schedule(at: .seconds(3)) { fired.record(3) }
        let two = timers.schedule(at: .seconds(2)) { fired.record(2) }
        // Earlier than what the sleeper sleeps for: it is replaced.
        timers.schedule(at: .seconds(1)) { fired.record(1) }
        timers.schedule(at: .seconds(3)) { fired.record(4) }
        timers.cancel(two)
        await clock.advance(by: .milliseconds(999))
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.all.isEmpty, "nothing before its deadline")
        await clock.advance(by: .milliseconds(1))
        try await eventually("the 1 s deadline") { fired.all == [1] }
        await clock.advance(by: .seconds(2))
        try await eventually("the 3 s deadlines, in the order scheduled") { fired.all == [1, 3, 4] }
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.all == [1, 3, 4], "the cancelled 2 s deadline never fired")
        // A deadline scheduled once the sleeper has ended starts a new one.
        timers.schedule(at: .seconds(5)) { fired.record(5) }
        await clock.advance(by: .seconds(2))
        try await eventually("a deadline after the heap ran empty") { fired.all == [1, 3, 4, 5] }
        timers.shutdown()
    }

    @Test("thousands of cancelled deadlines are dropped from the heap; shutdown fires nothing more", arguments: [1000, 5000])
    func cancelledAndShutdown(cancelled: Int) async throws {
        let clock = TestClock()
        let timers = ClientTimers(timebase: Timebase(clock))
        let fired = Fired()
        for n in 0..<cancelled {
            let token = timers.schedule(at: .seconds(10) + .milliseconds(n)) { fired.record(n) }
            timers.cancel(token)
        }
        timers.schedule(at: .seconds(20)) { fired.record(-1) }
        timers.schedule(at: .seconds(30)) { fired.record(-2) }
        await clock.advance(by: .seconds(20))
        try await eventually("the live deadline among the cancelled") { fired.all == [-1] }
        timers.shutdown()
        timers.schedule(at: .seconds(25)) { fired.record(-3) }
        await clock.advance(by: .seconds(20))
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.all == [-1], "after shutdown nothing fires")
    }
}
