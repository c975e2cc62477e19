import MonSyncCore
import MonSyncMessages
@_spi(Testing) @testable import MonSyncMonitor
import MonSyncStore
import Testing

/// The leader's choice between a due trim and waiting writes (the machine alone).
@Suite("Trims and waiting writes")
struct TrimInterleavingTests {
    @Test("trims released together alternate with waiting writes: never two trims in a row while writes wait")
    func trimsAlternateWithWrites() throws {
        let configuration = MonitorConfiguration(paxosMin: 5, paxosTrimMin: 2, paxosTrimMax: 2)
        var (a, _) = try MonitorFeaturesTests.leader(acks: [1: .supported, 2: .supported], configuration: configuration)
        // A sync holds trim while 20 versions commit: several trims of 2 versions are then due at once.
        let hold = a.machine.holdTrim(reason: "a sync")
        for tid: UInt64 in 1...20 { _ = try a.write(tids: tid...tid) }
        #expect(a.machine.lastCommitted == 20 && a.machine.firstCommitted <= 1)
        _ = try a.step(.releaseTrim(hold))
        #expect(a.machine.paxos.proposal?.isTrim == true, "the first released trim goes at once")

        // A write arrives during that trim; after it commits, the write goes before the next trim.
        let put = MMonCommand(op: .put, clientID: 7, tid: 21, key: "k", value: Array("v21".utf8))
        _ = try a.step(.message(put, from: "loopback://client"))
        var rounds: [String] = []
        for _ in 0..<4 {
            _ = try a.accept()
            guard let proposal = a.machine.paxos.proposal else { break }
            rounds.append(proposal.isTrim ? "trim" : "writes \(proposal.writes.map(\.command.tid))")
        }
        // Before, every due trim went first: trim, trim, trim … and the write waited for them all.
        #expect(Array(rounds.prefix(2)) == ["writes [21]", "trim"], "\(rounds)")
    }
}
