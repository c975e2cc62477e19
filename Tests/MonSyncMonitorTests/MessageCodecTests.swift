import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import Testing

/// Little-endian bytes, written out independently of `WireEncoder`, for golden layouts.
func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func str(_ text: String) -> [UInt8] { le32(UInt32(text.utf8.count)) + Array(text.utf8) }

func payload<M: WireMessage>(_ message: M) -> [UInt8] {
    var encoder = WireEncoder()
    message.encodePayload(into: &encoder)
    return encoder.finish()
}

func decodePayload<M: WireMessage>(_ type: M.Type, _ bytes: [UInt8]) throws(DecodeError) -> M {
    var decoder = WireDecoder(bytes)
    let message = try M(decodingPayload: &decoder, version: M.headVersion)
    try decoder.expectEnd()
    return message
}

enum Samples {
    static let probe = MMonProbe(op: .reply, senderName: "b", senderRank: 1, state: .peon, electionEpoch: 4, monmapEpoch: 1,
                                 quorum: [0, 1, 2], leader: 0, firstCommitted: 3, lastCommitted: 9)
    static let election = MMonElection(op: .victory, epoch: 6, senderRank: 0, monmapEpoch: 1, quorum: [0, 2], lastCommitted: 12)
    static let paxos = MMonPaxos(op: .last, epoch: 8, firstCommitted: 1, lastCommitted: 2, pn: 301, uncommittedPN: 200,
                                 values: [MMonPaxos.Value(version: 2, bytes: [0xAA]), MMonPaxos.Value(version: 3, bytes: [0xBB, 0xCC])])
    static let command = MMonCommand(op: .put, clientID: 7, tid: 3, key: "k", value: Array("v"), flags: .forwarded, replyTo: "loopback://client")
    static let reply = MMonCommandReply(op: .get, tid: 3, result: .ok, message: "", value: Array("v"), keys: ["a", "b"],
                                        leader: MonitorEntity(rank: 0, name: "a", address: "loopback://mon.a"), version: 17,
                                        status: MonitorStatus(state: .peon, rank: 1, name: "b", electionEpoch: 4, quorum: [0, 1],
                                                              leader: 0, firstCommitted: 1, lastCommitted: 17))
}

@Suite("Monitor messages: layout, round trips, malformed input")
struct MessageCodecTests {
    @Test("MMonProbe payload layout (golden)")
    func probeGolden() {
        let expected = le32(2) + str("b") + le32(1) + [5] + le32(4) + le32(1)
            + le32(3) + le32(0) + le32(1) + le32(2) + le32(0) + le64(3) + le64(9)
            + le32(0) // version 2: no monmap offered
        #expect(payload(Samples.probe) == expected)
    }

    @Test("MMonProbe v2 carries an offered monmap; a v1 probe reads as offering none")
    func probeOffersMonmap() throws {
        let members = [MonitorEntity(rank: 0, name: "a", address: "loopback://mon.a"),
                       MonitorEntity(rank: 1, name: "d", address: "loopback://mon.d")]
        var probe = Samples.probe
        probe.monmap = members
        var encoder = WireEncoder()
        probe.encodePayload(into: &encoder)
        var decoder = WireDecoder(encoder.finish())
        #expect(try MMonProbe(decodingPayload: &decoder, version: 2).monmap == members)
        let v1 = payload(Samples.probe).dropLast(4)
        var old = WireDecoder(Array(v1))
        let decoded = try MMonProbe(decodingPayload: &old, version: 1)
        #expect(decoded.monmap.isEmpty && decoded.lastCommitted == Samples.probe.lastCommitted)
    }

    @Test("MMonElection payload layout (golden)")
    func electionGolden() {
        let expected = le32(4) + le32(6) + le32(0) + le32(1) + le32(2) + le32(0) + le32(2) + le64(12)
            + le64(0) // version 2: no features
        #expect(payload(Samples.election) == expected)
    }

    @Test("MMonElection v2 carries the sender's features; a v1 message (an older build) reads as supporting none")
    func electionFeatures() throws {
        var election = Samples.election
        election.features = [.appliedTidRuns]
        let v2 = payload(election)
        #expect(Array(v2.suffix(8)) == le64(1), "applied-tid-runs is bit 0")
        #expect(try decodePayload(MMonElection.self, v2).features == [.appliedTidRuns])
        var old = WireDecoder(Array(v2.dropLast(8)))
        let decoded = try MMonElection(decodingPayload: &old, version: 1)
        #expect(decoded.features.isEmpty && decoded.lastCommitted == 12)
        // A v1 reader skips what a v2 sender appended (compat 1): the frame header says so.
        let codec = MessageCodec.monitor()
        let frame = codec.encode(election)
        #expect(frame[6] == 2 && frame[7] == 1, "version 2, compat 1")
        #expect(MonitorFeatures(rawValue: 0b101).description == "[applied-tid-runs, 0x4]")
    }

    @Test("MMonPaxos payload layout (golden)")
    func paxosGolden() {
        let expected = le32(2) + le32(8) + le64(1) + le64(2) + le64(301) + le64(200) + le64(0)
            + le32(2) + le64(2) + le32(1) + [0xAA] + le64(3) + le32(2) + [0xBB, 0xCC]
        #expect(payload(Samples.paxos) == expected)
    }

    @Test("MMonCommand payload layout (golden): v1's fields, then v2's after and limit")
    func commandGolden() {
        let v1 = le32(1) + [1] + le64(7) + le64(3) + str("k") + le32(1) + Array("v".utf8) + str("loopback://client")
        #expect(payload(Samples.command) == v1 + str("") + le32(0))
        let list = MMonCommand(op: .list, clientID: 7, tid: 4, key: "p", after: "p1", limit: 10)
        #expect(payload(list) == le32(4) + [0] + le64(7) + le64(4) + str("p") + le32(0) + str("") + str("p1") + le32(10))
    }

    @Test("a v1 MMonCommand (an older client) reads as no paging; a v2 one from a newer sender too")
    func commandVersions() throws {
        let v1 = le32(4) + [0] + le64(7) + le64(4) + str("p") + le32(0) + str("")
        var decoder = WireDecoder(v1)
        let old = try MMonCommand(decodingPayload: &decoder, version: 1)
        #expect(old == MMonCommand(op: .list, clientID: 7, tid: 4, key: "p"))
        // Paging belongs to LIST only.
        #expect(throws: DecodeError.self) { try MMonCommand(op: .get, clientID: 1, tid: 1, key: "k", after: "a").validate() }
    }

    @Test("MMonCommandReply v2 appends more, the monmap epoch and members; a v1 reply reads as none of them")
    func replyVersions() throws {
        let members = [MonitorEntity(rank: 0, name: "a", address: "loopback://mon.a"), MonitorEntity(rank: 1, name: "b", address: "loopback://mon.b")]
        let status = MMonCommandReply(op: .status, tid: 5, result: .ok, status: Samples.reply.status, monmapEpoch: 3, monmap: members)
        let codec = MessageCodec.monitor()
        #expect(try codec.decode(codec.encode(status)) as? MMonCommandReply == status)
        var tail = WireEncoder()
        tail.encode(false)
        tail.encode(UInt32(3))
        tail.encodeList(members) { $1.encode(into: &$0) }
        let appended = tail.finish()
        #expect(Array(payload(status).suffix(appended.count)) == appended, "more u8, monmap_epoch u32, then the entities, last")
        #expect(Array(appended.prefix(9)) == [0] + le32(3) + le32(2))

        // A v1 LIST reply (an older monitor) is cut at its page size and says so only in its message.
        let list = MMonCommandReply(op: .list, tid: 6, result: .ok, message: "truncated to the first 10000 of 10001 keys", keys: ["a"])
        let v2 = payload(list)
        let v1 = Array(v2.dropLast(1 + 4 + 4))
        var decoder = WireDecoder(v1)
        let old = try MMonCommandReply(decodingPayload: &decoder, version: 1)
        #expect(old.more && old.keys == ["a"] && old.monmap.isEmpty && old.monmapEpoch == 0)
        #expect(try decodePayload(MMonCommandReply.self, v2).more == false, "v2 says more explicitly")
    }

    @Test("requests no monitor serves are typed: an empty key is INVALID, a key or value over the limit TOO_LARGE")
    func requestErrors() {
        #expect(MMonCommand(op: .put, clientID: 1, tid: 1, key: "k", value: Array("v")).requestError == nil)
        #expect(MMonCommand(op: .get, clientID: 1, tid: 1).requestError?.result == .invalid)
        #expect(MMonCommand(op: .list, clientID: 1, tid: 1).requestError == nil, "LIST with no prefix lists everything")
        let longKey = String(repeating: "k", count: MMonCommand.maximumKeyLength + 1)
        #expect(MMonCommand(op: .delete, clientID: 1, tid: 1, key: longKey).requestError?.result == .tooLarge)
        #expect(MMonCommand(op: .get, clientID: 1, tid: 1, key: String(repeating: "k", count: MMonCommand.maximumKeyLength)).requestError == nil)
        let bigValue = [UInt8](repeating: 1, count: MMonCommand.maximumValueLength + 1)
        #expect(MMonCommand(op: .put, clientID: 1, tid: 1, key: "k", value: bigValue).requestError?.result == .tooLarge)
        #expect(MMonCommand(op: .list, clientID: 1, tid: 1, after: longKey).requestError?.result == .tooLarge)
        // They decode (so the monitor can answer them) instead of being dropped as malformed.
        var decoder = WireDecoder(payload(MMonCommand(op: .put, clientID: 1, tid: 1, key: longKey, value: Array("v"))))
        #expect((try? MMonCommand(decodingPayload: &decoder, version: 2))?.key == longKey)
    }

    @Test("every monitor message survives a frame round trip through the monitor codec")
    func roundTrips() throws {
        let codec = MessageCodec.monitor()
        #expect(try codec.decode(codec.encode(Samples.probe)) as? MMonProbe == Samples.probe)
        #expect(try codec.decode(codec.encode(Samples.election)) as? MMonElection == Samples.election)
        #expect(try codec.decode(codec.encode(Samples.paxos)) as? MMonPaxos == Samples.paxos)
        #expect(try codec.decode(codec.encode(Samples.command)) as? MMonCommand == Samples.command)
        #expect(try codec.decode(codec.encode(Samples.reply)) as? MMonCommandReply == Samples.reply)
        #expect(codec.registeredTypes.map(\.rawValue) == [50, 51, 64, 65, 66, 69])
    }

    @Test("every truncation of every message is a typed error, never a crash")
    func truncations() {
        func check<M: WireMessage>(_ message: M) {
            let bytes = payload(message)
            for length in 0..<bytes.count {
                #expect(throws: DecodeError.self) { _ = try decodePayload(M.self, Array(bytes.prefix(length))) }
            }
        }
        check(Samples.probe)
        check(Samples.election)
        check(Samples.paxos)
        check(Samples.command)
        check(Samples.reply)
    }

    @Test("invalid fields are refused with the field named")
    func invalidFields() {
        var probe = payload(Samples.probe)
        probe[0] = 9  // op
        #expect(throws: DecodeError.invalidField(name: "op", value: 9)) { _ = try decodePayload(MMonProbe.self, probe) }

        // A proposal must carry an odd epoch, a victory an even one.
        let evenPropose = payload(MMonElection(op: .propose, epoch: 3, senderRank: 1, monmapEpoch: 1))
        var broken = evenPropose
        broken[4] = 4
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonElection.self, broken) }

        // Values out of order.
        var paxos = Samples.paxos
        paxos.values.reverse()
        #expect(throws: DecodeError.self) { try paxos.validate() }
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonPaxos.self, payload(paxos)) }

        // BEGIN carries exactly last_committed + 1.
        let begin = MMonPaxos(op: .begin, epoch: 2, firstCommitted: 1, lastCommitted: 4, pn: 100, values: [MMonPaxos.Value(version: 7, bytes: [1])])
        #expect(throws: DecodeError.self) { try begin.validate() }

        // first_committed above last_committed.
        let bounds = MMonProbe(op: .probe, senderName: "a", senderRank: 0, state: .probing, electionEpoch: 1, monmapEpoch: 1,
                               firstCommitted: 9, lastCommitted: 3)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonProbe.self, payload(bounds)) }

        // A forwarded command needs an address to reply to; an unknown flag is refused.
        #expect(throws: DecodeError.self) { try MMonCommand(op: .put, clientID: 1, tid: 1, key: "k", flags: .forwarded).validate() }
        var command = payload(Samples.command)
        command[4] = 0x80
        #expect(throws: DecodeError.invalidFlags(op: 1, flags: 0x80)) { _ = try decodePayload(MMonCommand.self, command) }
        // A GET without a key is well-formed on the wire: the monitor answers it INVALID (requestErrors).
        #expect(throws: Never.self) { try MMonCommand(op: .get, clientID: 1, tid: 1).validate() }

        // Duplicate ranks in a quorum.
        let duplicate = le32(4) + le32(6) + le32(0) + le32(1) + le32(2) + le32(0) + le32(0) + le64(0)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonElection.self, duplicate) }
    }

    @Test("a hostile list count is refused before anything is allocated")
    func hostileCount() {
        let bytes = le32(2) + le32(8) + le64(1) + le64(2) + le64(0) + le64(0) + le64(0) + le32(0xFFFF_FFFF)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonPaxos.self, bytes) }
    }

    @Test("a corrupted monitor frame is refused by the codec")
    func corruptedFrame() throws {
        let codec = MessageCodec.monitor()
        var frame = codec.encode(Samples.election)
        frame[frame.count - 1] ^= 0xFF
        #expect(throws: DecodeError.self) { _ = try codec.decode(frame) }
    }
}

@Suite("Monitor messages: hostile values")
struct HostileValueTests {
    @Test("numbers at the edge of their range are refused, so no handler arithmetic can overflow")
    func edgeValues() {
        let maxVersion = MMonPaxos(op: .commit, epoch: 2, firstCommitted: 1, lastCommitted: .max)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonPaxos.self, payload(maxVersion)) }
        let maxPN = MMonPaxos(op: .last, epoch: 2, firstCommitted: 1, lastCommitted: 2, pn: .max)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonPaxos.self, payload(maxPN)) }
        let longLease = MMonPaxos(op: .lease, epoch: 2, firstCommitted: 1, lastCommitted: 2, leaseMilliseconds: .max)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonPaxos.self, payload(longLease)) }
        let maxEpoch = MMonElection(op: .propose, epoch: .max, senderRank: 1, monmapEpoch: 1)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonElection.self, payload(maxEpoch)) }
        let probe = MMonProbe(op: .probe, senderName: "a", senderRank: 0, state: .probing, electionEpoch: .max, monmapEpoch: 1,
                              firstCommitted: 0, lastCommitted: 0)
        #expect(throws: DecodeError.self) { _ = try decodePayload(MMonProbe.self, payload(probe)) }
    }

    @Test("seeded random mutations of every message decode or fail with a DecodeError, never trap")
    func mutations() {
        var rng = SeededRandomNumberGenerator(seed: 2026)
        let codec = MessageCodec.monitor()
        let frames = [codec.encode(Samples.probe), codec.encode(Samples.election), codec.encode(Samples.paxos),
                      codec.encode(Samples.command), codec.encode(Samples.reply), codec.encode(Samples.statusReply)]
        var decoded = 0
        for _ in 0..<5000 {
            var frame = frames[Int(rng.next() % UInt64(frames.count))]
            // Mutate payload bytes only and decode the payload directly (no frame CRC in the way),
            // so the message decoders themselves are what is exercised.
            let header = Frame.headerSize
            for _ in 0..<(1 + Int(rng.next() % 4)) where frame.count > header {
                let index = header + Int(rng.next() % UInt64(frame.count - header))
                frame[index] = UInt8(truncatingIfNeeded: rng.next())
            }
            var decoder = WireDecoder(Array(frame[header...]))
            let type = MessageType(UInt16(frame[4]) | UInt16(frame[5]) << 8)
            do {
                switch type.rawValue {
                case 50: _ = try MMonCommand(decodingPayload: &decoder, version: 1)
                case 51: _ = try MMonCommandReply(decodingPayload: &decoder, version: 1)
                case 64: _ = try MMonProbe(decodingPayload: &decoder, version: 1)
                case 65: _ = try MMonElection(decodingPayload: &decoder, version: 1)
                default: _ = try MMonPaxos(decodingPayload: &decoder, version: 1)
                }
                decoded += 1
            } catch {
                continue
            }
        }
        #expect(decoded > 0)
    }
}
