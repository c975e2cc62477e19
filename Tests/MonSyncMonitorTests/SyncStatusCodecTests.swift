import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import Testing

extension Samples {
    static let syncStatus = MonitorSyncStatus(
        requester: MonitorSyncStatus.Requester(
            phase: .streaming, session: 0x1122_3344_5566_7788, provider: "tcp://127.0.0.1:7002", bytes: 1_048_576,
            keys: 3000, chunks: 64, estimatedBytes: 2_097_152, elapsedMilliseconds: 2500, rate: 419_430,
            etaMilliseconds: 2500, providerSwitches: 1, retries: 2, aborts: 1, staleMessages: 3, corruptChunks: 0,
            heartbeatTimeouts: 4, finishReplyTimeouts: 5),
        leader: MonitorSyncStatus.Leader(syncsRunning: 1, trimHeld: true, granted: 4, retryAnswers: 2, trimTimeouts: 1,
                                         explicitAborts: 6),
        provider: MonitorSyncStatus.Provider(sessionsActive: 1, served: 3, completed: 2, chunksSent: 200,
                                             bytesSent: 5_000_000, refusals: 7))
    static let statusWithSync = MonitorStatus(state: .synchronizing, rank: 2, name: "c", electionEpoch: 6, quorum: [],
                                              leader: nil, firstCommitted: 0, lastCommitted: 0, sync: syncStatus)
    static let statusReply = MMonCommandReply(op: .status, tid: 9, result: .ok, status: statusWithSync)
}

func encoded(_ status: MonitorStatus) -> [UInt8] {
    var encoder = WireEncoder()
    status.encode(into: &encoder)
    return encoder.finish()
}

func encoded(_ sync: MonitorSyncStatus) -> [UInt8] {
    var encoder = WireEncoder()
    sync.encode(into: &encoder)
    return encoder.finish()
}

/// A versioned-struct header: `v`, `compat`, u32 body length.
func header(_ version: UInt8, _ compat: UInt8, _ body: [UInt8]) -> [UInt8] { [version, compat] + le32(UInt32(body.count)) + body }

@Suite("status: the sync section's layout and compatibility")
struct SyncStatusCodecTests {
    /// The v1 status body of ``Samples/statusWithSync``, written out by hand.
    let statusV1Body: [UInt8] = [2] + le32(2) + str("c") + le32(6) + le32(0) + le32(0xFFFF_FFFF) + le64(0) + le64(0)

    @Test("MonitorSyncStatus layout (golden): every field in the documented order")
    func syncGolden() {
        let requester: [UInt8] = [1, 2] + le64(0x1122_3344_5566_7788) + str("tcp://127.0.0.1:7002")
            + le64(1_048_576) + le64(3000) + le64(64) + le64(2_097_152) + le64(2500) + le64(419_430) + le64(2500)
            + le32(1) + le32(2) + le32(1) + le32(3) + le32(0) + le32(4) + le32(5)
        let leader: [UInt8] = le32(1) + [1] + le64(4) + le64(2) + le64(1) + le64(6)
        let provider: [UInt8] = le32(1) + le64(3) + le64(2) + le64(200) + le64(5_000_000) + le64(7)
        #expect(encoded(Samples.syncStatus) == header(1, 1, requester + leader + provider))

        // Without a requester, and with an unknown ETA.
        var idle = Samples.syncStatus
        idle.requester = nil
        #expect(encoded(idle) == header(1, 1, [0] + leader + provider))
        var noETA = Samples.syncStatus
        noETA.requester?.etaMilliseconds = nil
        let noETABytes = encoded(noETA)
        #expect(Array(noETABytes[(6 + 2 + 8 + 24 + 48)..<(6 + 2 + 8 + 24 + 56)]) == le64(UInt64.max), "eta_ms is -1 when unknown")
    }

    @Test("a status with a sync section is version 2: the v1 body, then the section (golden)")
    func statusGolden() {
        #expect(encoded(Samples.statusWithSync) == header(2, 1, statusV1Body + encoded(Samples.syncStatus)))
        var plain = Samples.statusWithSync
        plain.sync = nil
        #expect(encoded(plain) == header(1, 1, statusV1Body), "without a section, byte for byte what a v1 peer writes")
    }

    @Test("round trips: the section, a status with and without it, a status reply frame")
    func roundTrips() throws {
        var decoder = WireDecoder(encoded(Samples.syncStatus))
        #expect(try MonitorSyncStatus(from: &decoder) == Samples.syncStatus)
        for phase in MonitorSyncStatus.Phase.allCases {
            var sync = Samples.syncStatus
            sync.requester?.phase = phase
            sync.requester?.etaMilliseconds = phase == .done ? nil : 10
            var d = WireDecoder(encoded(sync))
            #expect(try MonitorSyncStatus(from: &d) == sync)
        }
        var statusDecoder = WireDecoder(encoded(Samples.statusWithSync))
        #expect(try MonitorStatus(from: &statusDecoder) == Samples.statusWithSync)
        // A v1 status (an older peer's) decodes, without a section.
        var v1 = WireDecoder(header(1, 1, statusV1Body))
        let old = try MonitorStatus(from: &v1)
        #expect(old.sync == nil && old.name == "c" && old.state == .synchronizing)
        let codec = MessageCodec.monitor()
        #expect(try codec.decode(codec.encode(Samples.statusReply)) as? MMonCommandReply == Samples.statusReply)
    }

    @Test("a v1-only decoder (an older peer) reads a v2 status and skips the section")
    func olderDecoderSkipsTheSection() throws {
        // Exactly what the v1 decoder did: read the v1 fields inside a struct it supports up to version 1.
        var decoder = WireDecoder(encoded(Samples.statusWithSync) + [0xEE])
        let name = try decoder.decodeVersionedStruct("status", supportedVersion: 1) {
            (d: inout WireDecoder, _: UInt8) throws(DecodeError) -> String in
            _ = try d.decodeUInt8()
            _ = try d.decodeInt32()
            let name = try d.decodeString(field: "name")
            _ = try d.decodeUInt32()
            _ = try d.decodeRanks(field: "quorum")
            _ = try d.decodeOptionalRank(field: "leader")
            _ = try d.decodePaxosBounds()
            return name
        }
        #expect(name == "c")
        #expect(try decoder.decodeUInt8() == 0xEE, "the decoder stands right after the status")
    }

    @Test("a newer section (v2, compat 1, extra fields) is read; compat 2 is refused")
    func newerSection() throws {
        var bytes = encoded(Samples.syncStatus)
        bytes[0] = 2
        let body = Array(bytes[6...]) + le64(42)
        var newer = WireDecoder(header(2, 1, body))
        #expect(try MonitorSyncStatus(from: &newer) == Samples.syncStatus)
        var incompatible = WireDecoder(header(2, 2, body))
        #expect(throws: DecodeError.unsupportedVersion(what: "sync_status", compat: 2, supported: 1)) {
            _ = try MonitorSyncStatus(from: &incompatible)
        }
    }

    @Test("invalid values are refused with the field named; every truncation is a typed error")
    func malformed() {
        var badPhase = encoded(Samples.syncStatus)
        badPhase[7] = 9
        var d = WireDecoder(badPhase)
        #expect(throws: DecodeError.invalidField(name: "sync_status.phase", value: 9)) { _ = try MonitorSyncStatus(from: &d) }
        var badETA = encoded(Samples.syncStatus)
        let etaOffset = 6 + 2 + 8 + 24 + 48
        for index in etaOffset..<(etaOffset + 8) { badETA[index] = 0xFF }
        badETA[etaOffset] = 0xFE  // -2
        var e = WireDecoder(badETA)
        #expect(throws: DecodeError.self) { _ = try MonitorSyncStatus(from: &e) }
        let bytes = payload(Samples.statusReply)
        for length in 0..<bytes.count {
            #expect(throws: DecodeError.self) { _ = try decodePayload(MMonCommandReply.self, Array(bytes.prefix(length))) }
        }
    }
}
