import MonSyncCore
import MonSyncMessages
import MonSyncTransportConformance
import Testing

@Suite("CodecVerifier")
struct CodecVerifierTests {
    /// A stream of real messages: every op, an empty chunk, a large chunk, and a quorum.
    static func frames() -> [[UInt8]] {
        let codec = MessageCodec.monitor()
        var frames = MMonSync.Op.allCases.map { codec.encode(MMonSync(op: $0, session: UInt64($0.rawValue))) }
        let chunk = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        frames.append(codec.encode(MMonSync(op: .chunk, flags: [.crc], chunk: chunk[...], crc: CRC32C.checksum(chunk),
                                            session: 9, sequence: 1)))
        frames.append(codec.encode(MMonSync(op: .startReply, session: 9, quorum: [
            MonitorEntity(rank: 0, name: "a", address: "loopback://a"),
            MonitorEntity(rank: 1, name: "b", address: "loopback://b"),
        ])))
        return frames
    }

    @Test func frameStreamDecoderAgreesUnderEverySplit() throws {
        try CodecVerifier(seed: 42, randomRuns: 16).verify(frames: Self.frames())
    }

    @Test func messagesSurviveTheRoundTrip() throws {
        let chunk = Array(repeating: UInt8(0xAB), count: 5000)
        try CodecVerifier(seed: 3).verifyRoundTrip([
            MMonSync(op: .start, replyTo: MonitorEntity(rank: 2, name: "c", address: "loopback://c"), session: 1),
            MMonSync(op: .chunk, flags: [.crc, .last], version: 99, chunk: chunk[...], lastKey: SyncKey(prefix: "paxos", key: "42"),
                     crc: CRC32C.checksum(chunk), session: 1, sequence: 7),
            MMonSync(op: .abort, flags: [.retry], session: 1, reason: .busy),
        ])
    }

    @Test func emptyStreamYieldsNothing() throws {
        try CodecVerifier().verify(frames: [])
    }

    /// Pins a fixed bug: fed whole, the decoder used to throw away the good frames that preceded a
    /// corrupt one in the same read, so its output depended on how the stream was split.
    @Test func corruptTailFailsTheSameWayUnderEverySplit() throws {
        let frames = Self.frames()
        var corrupt = MessageCodec.monitor().encode(MMonSync(op: .heartbeat, session: 1))
        corrupt[Frame.headerSize] ^= 0x01  // a payload bit: the CRC no longer matches
        let expected: DecodeError
        do {
            _ = try Frame.decode(corrupt[...])
            Issue.record("the corrupted frame decoded")
            return
        } catch { expected = error }
        try CodecVerifier(seed: 7).verifyRejection(frames: frames, corruptTail: corrupt, expectedError: expected)
        // A header announcing more than the limit is refused as soon as its 12 bytes are in.
        let oversized = Frame.encode(type: .mmonSync, version: 2, compatVersion: 1) { $0.appendRaw([UInt8](repeating: 1, count: 2048)) }
        try CodecVerifier(maximumPayloadSize: 1024).verifyRejection(
            frames: [], corruptTail: oversized,
            expectedError: .lengthOverLimit(what: "frame payload", length: 2048, limit: 1024))
    }

    @Test func reportsASplitThatDisagrees() throws {
        // Bytes that are not a frame: the verifier must say so, naming the split.
        let notAFrame: [UInt8] = Array("definitely not a frame".utf8)
        let failure = #expect(throws: CodecVerifier.Failure.self) { try CodecVerifier().verify(frames: [notAFrame]) }
        #expect(failure?.split == .whole)
        #expect(failure?.description.contains("bad magic") == true)

        // The wrong expected error is reported too.
        let frame = MessageCodec.monitor().encode(MMonSync(op: .finish))
        #expect(throws: CodecVerifier.Failure.self) {
            try CodecVerifier().verifyRejection(frames: [], corruptTail: Array(frame.dropLast()) + [0, 0, 0, 0, 0],
                                                expectedError: .badMagic(0))
        }
    }
}
