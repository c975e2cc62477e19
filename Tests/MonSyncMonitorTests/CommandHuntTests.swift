import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import Testing

/// The client's hunting decisions, step by step, with no clock and no transport: where copies of a
/// command go, when the client hunts every monitor, when it pauses, and whether a write that got
/// no definite answer may have been applied.
@Suite("Client hunting (CommandHunt)")
struct CommandHuntTests {
    let a: TransportAddress = "loopback://mon.a"
    let b: TransportAddress = "loopback://mon.b"
    let c: TransportAddress = "loopback://mon.c"
    var all: [TransportAddress] { [a, b, c] }

    func reply(_ result: CommandResult, leader: TransportAddress? = nil, op: MMonCommand.Op = .put) -> MMonCommandReply {
        MMonCommandReply(op: op, tid: 1, result: result,
                         leader: leader.map { MonitorEntity(rank: 0, name: "x", address: $0.description) })
    }

    func sends(_ actions: [CommandHunt.Action]) -> [TransportAddress] {
        actions.compactMap { if case let .send(peer, _) = $0 { peer } else { nil } }
    }

    @Test("a fresh client sends its first attempt to every monitor at once, with one attempt timer")
    func freshClientHunts() {
        var hunt = CommandHunt(isWrite: true, monitors: all, preferred: nil)
        let actions = hunt.start()
        #expect(sends(actions) == all)
        #expect(actions.last == .armAttemptTimer(attempt: 1))
        #expect(hunt.replied(reply(.ok)) == .settled(reply(.ok)), "the first definite answer wins")
    }

    @Test("a warm client tries the monitor that answered last alone; when it stays silent, it hunts every monitor")
    func preferredThenHunt() {
        var hunt = CommandHunt(isWrite: false, monitors: all, preferred: b)
        #expect(sends(hunt.start()) == [b])
        let hunted = hunt.attemptExpired(1)
        #expect(sends(hunted) == all)
        #expect(hunted.last == .armAttemptTimer(attempt: 2))
        #expect(hunt.attemptExpired(1).isEmpty, "a stale timer changes nothing")
    }

    @Test("the preferred monitor answering without settling (no quorum) makes the client hunt at once, not pause")
    func preferredRefusesThenHunt() {
        var hunt = CommandHunt(isWrite: false, monitors: all, preferred: c)
        _ = hunt.start()
        guard case let .next(actions) = hunt.replied(reply(.noQuorum, op: .get)) else { Issue.record("settled"); return }
        #expect(sends(actions) == all)
    }

    @Test("NOT_LEADER sends a copy straight to the named leader, once per attempt")
    func redirect() {
        var hunt = CommandHunt(isWrite: true, monitors: [b, c], preferred: c)
        _ = hunt.start()
        #expect(hunt.replied(reply(.notLeader, leader: a)) == .next([.send(a, attempt: 1)]))
        #expect(hunt.monitors.contains(a), "a leader the monmap lacked is hunted from now on")
        guard case let .next(again) = hunt.replied(reply(.notLeader, leader: a)) else { Issue.record("settled"); return }
        #expect(!again.contains(.send(a, attempt: 1)), "no second copy to the same leader in one attempt")
    }

    @Test("a hunt answered only by refusals pauses before the next; after the pause it hunts again")
    func pauseAfterRefusedHunt() {
        var hunt = CommandHunt(isWrite: true, monitors: all, preferred: nil)
        _ = hunt.start()
        #expect(hunt.replied(reply(.noQuorum)) == .next([]))
        #expect(hunt.replied(reply(.noQuorum)) == .next([]))
        #expect(hunt.replied(reply(.noQuorum)) == .next([.armPause(attempt: 1)]))
        #expect(hunt.attemptExpired(1).isEmpty, "the attempt timer does not cut the pause short")
        #expect(sends(hunt.pauseOver(1)) == all)
    }

    @Test("a write refused everywhere (NO_QUORUM, NOT_LEADER) or never sent was certainly not applied")
    func notApplied() {
        var hunt = CommandHunt(isWrite: true, monitors: all, preferred: nil)
        _ = hunt.start()
        _ = hunt.replied(reply(.noQuorum))
        _ = hunt.replied(reply(.notLeader))
        #expect(hunt.mayHaveApplied, "the copy to c is still out")
        _ = hunt.sendFailed(to: c, attempt: 1)
        #expect(!hunt.mayHaveApplied)
    }

    @Test("a write with a copy in flight (RETRY, or no answer) may have been applied; a read never counts")
    func mayHaveApplied() {
        var write = CommandHunt(isWrite: true, monitors: all, preferred: nil)
        _ = write.start()
        _ = write.replied(reply(.noQuorum))
        _ = write.replied(reply(.noQuorum))
        _ = write.replied(reply(.retry))
        #expect(write.mayHaveApplied, "RETRY: the leader lost its quorum with the write out for acceptance")
        #expect(write.lastReply?.result == .retry)

        var silent = CommandHunt(isWrite: true, monitors: all, preferred: nil)
        _ = silent.start()
        #expect(silent.mayHaveApplied, "a copy sent and never answered")

        var read = CommandHunt(isWrite: false, monitors: all, preferred: nil)
        _ = read.start()
        #expect(!read.mayHaveApplied)
    }
}
