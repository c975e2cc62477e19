import MonSyncCore
import MonSyncMessages
import Testing

private func le64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

private func encoded(_ status: MonitorStatus) -> [UInt8] {
    var encoder = WireEncoder()
    status.encode(into: &encoder)
    return encoder.finish()
}

@Suite("status v3: the monitor's vitals on the wire")
struct MonitorVitalsCodecTests {
    let vitals = MonitorVitals(storeBytes: 1_000, filesystemBytes: 10_000, filesystemAvailableBytes: 2_500, syncIdleMilliseconds: 42)
    let plain = MonitorStatus(state: .leader, rank: 0, name: "a", electionEpoch: 6, quorum: [0, 1, 2], leader: 0,
                              firstCommitted: 1, lastCommitted: 10)

    @Test("the section's layout (golden): v1, compat 1, four u64 in the documented order")
    func golden() {
        var encoder = WireEncoder()
        vitals.encode(into: &encoder)
        let body = le64(1_000) + le64(10_000) + le64(2_500) + le64(42)
        #expect(encoder.finish() == [1, 1, 32, 0, 0, 0] + body)
        #expect(vitals.availablePercent == 25)
        #expect(MonitorVitals().availablePercent == nil, "no filesystem: unknown")
    }

    @Test("a status with vitals is v3: the v1 body, a sync section (empty when none: read back as none), the vitals")
    func statusV3() throws {
        var status = plain
        status.vitals = vitals
        let bytes = encoded(status)
        #expect(bytes[0] == 3 && bytes[1] == 1)
        var decoder = WireDecoder(bytes)
        #expect(try MonitorStatus(from: &decoder) == status)
        status.sync = MonitorSyncStatus(leader: MonitorSyncStatus.Leader(syncsRunning: 1, trimHeld: true, granted: 1))
        var withSync = WireDecoder(encoded(status))
        #expect(try MonitorStatus(from: &withSync) == status)
        // Without vitals, a status is written as before: v1, or v2 with a sync section.
        #expect(encoded(plain)[0] == 1)
        status.vitals = nil
        #expect(encoded(status)[0] == 2)
    }

    @Test("an older (v2) decoder reads a v3 status and skips the vitals")
    func olderDecoderSkipsVitals() throws {
        var status = plain
        status.vitals = vitals
        var decoder = WireDecoder(encoded(status) + [0xEE])
        let name = try decoder.decodeVersionedStruct("status", supportedVersion: 2) {
            (d: inout WireDecoder, version: UInt8) throws(DecodeError) -> String in
            _ = try d.decodeUInt8()
            _ = try d.decodeInt32()
            let name = try d.decodeString(field: "name")
            _ = try d.decodeUInt32()
            _ = try d.decodeRanks(field: "quorum")
            _ = try d.decodeOptionalRank(field: "leader")
            _ = try d.decodePaxosBounds()
            if version >= 2 { _ = try MonitorSyncStatus(from: &d) }
            return name
        }
        #expect(name == "a")
        #expect(try decoder.decodeUInt8() == 0xEE, "the decoder stands right after the status")
    }

    @Test("vitals claiming more free space than the filesystem holds are refused")
    func invalid() {
        var encoder = WireEncoder()
        MonitorVitals(storeBytes: 0, filesystemBytes: 0, filesystemAvailableBytes: 0).encode(into: &encoder)
        var bytes = encoder.finish()
        bytes[6 + 16] = 1  // filesystem_available_bytes = 1 > filesystem_bytes = 0
        var decoder = WireDecoder(bytes)
        #expect(throws: DecodeError.invalidField(name: "vitals.filesystem_available_bytes", value: 1)) {
            _ = try MonitorVitals(from: &decoder)
        }
    }
}
