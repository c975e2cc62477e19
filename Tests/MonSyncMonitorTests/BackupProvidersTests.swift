import MonSyncCore
import MonSyncMessages
import MonSyncMonitor
import Testing

/// Which monitors a backup asks, in which order, from a status survey alone.
@Suite("Backup: the monitors a backup asks")
struct BackupProvidersTests {
    static let members = ["a", "b", "c", "d", "e"].enumerated().map {
        MonitorEntity(rank: Int32($0.offset), name: $0.element, address: "tcp://127.0.0.1:\(7001 + $0.offset)")
    }

    static func reply(_ rank: Int32, _ state: MonitorState, quorum: [Int32] = [0, 1, 3], leader: Int32? = 3) -> MMonCommandReply {
        let status = MonitorStatus(state: state, rank: rank, name: members[Int(rank)].name, electionEpoch: 4, quorum: quorum,
                                   leader: leader, firstCommitted: 10, lastCommitted: 40)
        return MMonCommandReply(op: .status, tid: 1, result: .ok, status: status, monmapEpoch: 2, monmap: members)
    }

    @Test("quorum peons first, then the leader, then the other monitors that answered, then those that did not; as the monmap names them")
    func order() throws {
        func address(_ rank: Int) throws -> TransportAddress { try TransportAddress(Self.members[rank].address) }
        // Asked: a, b, c (the client's monmap); d and e learned from the replies. e never answered.
        let survey = StatusSurvey(asked: try [0, 1, 2, 3, 4].map { try address($0) }, replies: [
            try address(0): Self.reply(0, .peon),
            try address(1): Self.reply(1, .peon),
            try address(2): Self.reply(2, .synchronizing, quorum: [], leader: nil),
            try address(3): Self.reply(3, .leader),
        ])
        #expect(survey.backupProviders.map { $0.name } == ["a", "b", "d", "c", "e"])
        #expect(survey.backupProviders.map { $0.rank } == [0, 1, 3, 2, 4])

        // Out of any quorum, electing monitors still come before those that did not answer.
        let electing = StatusSurvey(asked: try [0, 1, 2].map { try address($0) }, replies: [
            try address(2): Self.reply(2, .electing, quorum: [], leader: nil),
        ])
        #expect(Array(electing.backupProviders.map { $0.name }.prefix(2)) == ["c", "a"])
        #expect(Set(electing.backupProviders.map { $0.name }) == Set(["a", "b", "c", "d", "e"]), "members only the replies' monmap named come last")
    }
}
