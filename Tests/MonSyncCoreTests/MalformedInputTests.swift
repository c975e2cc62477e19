import MonSyncCore
import MonSyncMessages
import PropertyBased
import Testing

/// Helpers to damage frames in controlled ways.
enum MalformedInput {
    /// Recomputes the trailing CRC so a test reaches the check after it.
    static func refreshCRC(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        let payload = frame[Frame.headerSize..<(frame.count - Frame.trailerSize)]
        let crc = CRC32C.checksum(payload)
        withUnsafeBytes(of: crc.littleEndian) { raw in
            for i in 0..<4 { frame[frame.count - 4 + i] = raw[i] }
        }
        return frame
    }

    /// Recomputes the header CRC after a test edited the header.
    static func refreshHeaderCRC(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        let crc = CRC32C.checksum(frame[0..<12])
        withUnsafeBytes(of: crc.littleEndian) { raw in
            for i in 0..<4 { frame[12 + i] = raw[i] }
        }
        return frame
    }

    /// A frame around `payload` as written, with a correct length and CRC.
    static func frame(type: MessageType = .mmonSync, version: UInt8 = 2, compat: UInt8 = 1, _ payload: (inout WireEncoder) -> Void) -> [UInt8] {
        Frame.encode(type: type, version: version, compatVersion: compat, payload)
    }
}

@Suite("Malformed input is refused with a typed error, never a crash")
struct MalformedInputTests {
    let codec = MessageCodec.monitor()
    let sample = MessageCodec.monitor().encode(MessageSamples.canonical.first { $0.name == "start_reply" }!.message)

    @Test("every truncation of a valid frame is a typed error")
    func truncated() {
        for length in 0..<sample.count {
            #expect(throws: DecodeError.self) { try codec.decode(Array(sample[..<length])) }
        }
        #expect(throws: DecodeError.truncated(needed: 16, offset: 0)) { try codec.decode([]) }
    }

    @Test("bad magic")
    func badMagic() {
        var bytes = sample
        bytes[0] = 0x00
        #expect(throws: DecodeError.badMagic(0x4E59_5300)) { try codec.decode(bytes) }
    }

    @Test("CRC mismatch on any flipped payload bit")
    func crcMismatch() {
        var rng = SeededRandomNumberGenerator(seed: 7)
        for _ in 0..<64 {
            var bytes = sample
            let index = Frame.headerSize + Int(rng.next() % UInt64(bytes.count - Frame.overhead))
            bytes[index] ^= 1 << UInt8(rng.next() % 8)
            #expect {
                try codec.decode(bytes)
            } throws: { error in
                if case .crcMismatch = error as? DecodeError { true } else { false }
            }
        }
    }

    @Test("any corruption of the header is caught by the header CRC")
    func headerCorruption() {
        for index in 4..<16 {
            var bytes = sample
            bytes[index] ^= 0x10
            #expect {
                try codec.decode(bytes)
            } throws: { error in
                if case .headerCRCMismatch = error as? DecodeError { true } else { false }
            }
        }
    }

    @Test("unknown message type")
    func unknownType() {
        let bytes = MalformedInput.frame(type: MessageType(9999)) { $0.encode(UInt32(1)) }
        #expect(throws: DecodeError.unknownMessageType(MessageType(9999))) { try codec.decode(bytes) }
    }

    @Test("payload length over the limit is refused from the header alone")
    func lengthOverLimit() {
        let small = MessageCodec.monitor(maximumPayloadSize: 16)
        #expect(throws: DecodeError.lengthOverLimit(what: "frame payload", length: UInt64(sample.count - Frame.overhead), limit: 16)) {
            try small.decode(sample)
        }
        // A header announcing 4 GiB with no payload at all: refused without allocating.
        var header = Array(sample[..<Frame.headerSize])
        header[8...11] = [0xFF, 0xFF, 0xFF, 0xFF]
        header = MalformedInput.refreshHeaderCRC(header)
        #expect(throws: DecodeError.lengthOverLimit(what: "frame payload", length: 0xFFFF_FFFF, limit: Frame.defaultMaximumPayloadSize)) {
            try codec.decode(header)
        }
    }

    @Test("frame length disagreeing with the bytes")
    func lengthMismatch() {
        #expect(throws: DecodeError.trailingBytes(count: 1)) { try codec.decode(sample + [0]) }
    }

    @Test("compat above version in the header")
    func compatAboveVersion() {
        let bytes = MalformedInput.frame(version: 1, compat: 2) { MMonSync(op: .start).encodePayload(into: &$0) }
        #expect(throws: DecodeError.self) { try codec.decode(bytes) }
    }

    @Test("unknown op")
    func unknownOp() {
        for op in [UInt32(0), 11, 0xFFFF_FFFF] {
            let bytes = MalformedInput.frame { e in
                var message = WireEncoder()
                MMonSync(op: .start).encodePayload(into: &message)
                var payload = message.finish()
                withUnsafeBytes(of: op.littleEndian) { for i in 0..<4 { payload[i] = $0[i] } }
                e.appendRaw(payload)
            }
            #expect(throws: DecodeError.invalidField(name: "op", value: UInt64(op))) { try codec.decode(bytes) }
        }
    }

    @Test("unknown flag bits")
    func unknownFlags() {
        let bytes = MalformedInput.frame { e in
            e.encode(MMonSync.Op.chunk.rawValue)
            e.encode(UInt8(0x80))
        }
        #expect(throws: DecodeError.invalidFlags(op: 7, flags: 0x80)) { try codec.decode(bytes) }
    }

    @Test("REPLY_TO set with an empty entity")
    func emptyReplyTo() {
        let bytes = MalformedInput.frame(version: 1) { e in
            e.encode(MMonSync.Op.start.rawValue)
            e.encode(MMonSync.Flags.replyTo.rawValue)
            e.encode(UInt64(0))
            e.encodeBlob([UInt8]())
            e.encode("")
            e.encode("")
            e.encode(UInt32(0))
            MonitorEntity.none.encode(into: &e)
        }
        #expect(throws: DecodeError.self) { try codec.decode(bytes) }
    }

    @Test("invalid UTF-8 in a key")
    func invalidUTF8() {
        let bytes = MalformedInput.frame(version: 1) { e in
            e.encode(MMonSync.Op.startChunks.rawValue)
            e.encode(UInt8(0))
            e.encode(UInt64(0))
            e.encodeBlob([UInt8]())
            e.encodeBlob([0xC3, 0x28] as [UInt8])  // invalid two-byte sequence
            e.encode("")
            e.encode(UInt32(0))
            MonitorEntity.none.encode(into: &e)
        }
        #expect(throws: DecodeError.invalidUTF8(field: "last_key.prefix")) { try codec.decode(bytes) }
    }

    @Test("a blob length beyond the payload")
    func blobBeyondPayload() {
        let bytes = MalformedInput.frame(version: 1) { e in
            e.encode(MMonSync.Op.chunk.rawValue)
            e.encode(UInt8(0))
            e.encode(UInt64(0))
            e.encode(UInt32(0x7FFF_FFFF))  // chunk_bl announces 2 GiB
        }
        #expect(throws: DecodeError.truncated(needed: 0x7FFF_FFFF, offset: 17)) { try codec.decode(bytes) }
    }

    @Test("a hostile list count is refused before allocating")
    func hostileListCount() {
        let bytes = MalformedInput.frame { e in
            MMonSync(op: .startReply).encodePayload(into: &e)
            // Overwrite the quorum count (the last 4 bytes) with 1 billion.
        }
        var patched = bytes
        let countOffset = patched.count - Frame.trailerSize - 4
        patched.replaceSubrange(countOffset..<countOffset + 4, with: [0x00, 0xCA, 0x9A, 0x3B])
        #expect {
            try codec.decode(MalformedInput.refreshCRC(patched))
        } throws: { error in
            if case .lengthOverLimit(what: "quorum list", length: 1_000_000_000, _) = error as? DecodeError { true } else { false }
        }
    }

    @Test("trailing bytes after a same-version payload")
    func trailingBytes() {
        let bytes = MalformedInput.frame { e in
            MMonSync(op: .heartbeat).encodePayload(into: &e)
            e.encode(UInt8(0))
        }
        #expect(throws: DecodeError.trailingBytes(count: 1)) { try codec.decode(bytes) }
    }

    @Test("a versioned struct whose length disagrees with its fields")
    func structLengthMismatch() {
        var e = WireEncoder()
        e.encodeVersionedStruct(version: 1, compat: 1) { e in
            e.encode(Int32(1))
            e.encode("a")
            e.encode("tcp://x:1")
            e.encode(UInt8(0))  // one byte more than version 1 has
        }
        var d = WireDecoder(e.finish())
        #expect(throws: DecodeError.structLengthMismatch(what: "entity", declared: 23, consumed: 22)) { try MonitorEntity(from: &d) }
    }

    @Test("entity with a compat newer than ours")
    func entityTooNew() {
        var e = WireEncoder()
        e.encodeVersionedStruct(version: 5, compat: 4) { $0.encode(UInt64(0)) }
        var d = WireDecoder(e.finish())
        #expect(throws: DecodeError.unsupportedVersion(what: "entity", compat: 4, supported: 1)) { try MonitorEntity(from: &d) }
    }

    @Test("arbitrary bytes never crash the decoder")
    func arbitraryBytes() async {
        await propertyCheck(count: 2000, input: Gen.uint8().array(of: 0...200)) { bytes in
            _ = try? codec.decode(bytes)
            var stream = FrameStreamDecoder()
            _ = try? stream.feed(bytes)
            #expect(Bool(true))
        }
    }

    @Test("random corruption of valid frames never crashes and is always detected or harmless")
    func corruptedValidFrames() async {
        await propertyCheck(count: 1000, input: Gen.uint64()) { seed in
            var rng = SeededRandomNumberGenerator(seed: seed)
            var bytes = codec.encode(MessageSamples.random(using: &rng))
            let flips = 1 + Int(rng.next() % 4)
            for _ in 0..<flips {
                let index = Int(rng.next() % UInt64(bytes.count))
                bytes[index] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
            // CRC32C detects every error of up to 3 flipped bits in frames this small, and
            // the header is checked field by field: a corrupted frame must not decode as a different message.
            if let decoded = try? codec.decode(bytes) as? MMonSync {
                #expect(codec.encode(decoded) == bytes, "a corrupted frame decoded: seed \(seed)")
            }
        }
    }
}
