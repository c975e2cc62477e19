import MonSyncCore
import Testing

@Suite("Log throttle")
struct LogThrottleTests {
    @Test("one line per key per interval, carrying the count held back")
    func oneLinePerKeyPerInterval() {
        var throttle = LogThrottle(interval: .seconds(10))
        #expect(throttle.admit("a", now: .seconds(0)) == .log(heldBack: 0, shared: false))
        for second in 1...9 { #expect(throttle.admit("a", now: .seconds(second)) == .suppress) }
        #expect(throttle.admit("b", now: .seconds(5)) == .log(heldBack: 0, shared: false), "keys are independent")
        #expect(throttle.admit("a", now: .seconds(10)) == .log(heldBack: 9, shared: false))
        #expect(throttle.admit("a", now: .seconds(11)) == .suppress)
        #expect(throttle.admit("a", now: .seconds(30)) == .log(heldBack: 1, shared: false))
    }

    @Test("many senders share one line per interval past the line budget")
    func manySendersShareALine() {
        var throttle = LogThrottle(interval: .seconds(10), maximumLinesPerInterval: 5)
        var lines = 0
        for sender in 0..<1_000 {
            if case .log = throttle.admit("sender \(sender)", now: .milliseconds(sender)) { lines += 1 }
        }
        #expect(lines == 6, "five senders' own lines and one shared line")
        // The next interval: the shared line reports what it held back.
        #expect(throttle.admit("sender 999", now: .seconds(12)) == .log(heldBack: 0, shared: false))
        for sender in 5..<9 { _ = throttle.admit("sender \(sender)", now: .seconds(12)) }
        let verdict = throttle.admit("sender 2000", now: .seconds(12))
        #expect(verdict == .log(heldBack: 994, shared: true))
    }

    @Test("the keys remembered stay bounded")
    func keysStayBounded() {
        var throttle = LogThrottle(interval: .seconds(10), maximumKeys: 16, maximumLinesPerInterval: 1_000)
        for sender in 0..<10_000 { _ = throttle.admit("sender \(sender)", now: .milliseconds(sender)) }
        #expect(throttle.rememberedKeys <= 17)
        // Quiet keys are forgotten to make room: after an interval, a newcomer has a line of its own.
        #expect(throttle.admit("newcomer", now: .seconds(100)) == .log(heldBack: 0, shared: false))
    }
}
