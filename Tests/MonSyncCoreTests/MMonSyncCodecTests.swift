import MonSyncCore
import MonSyncMessages
import PropertyBased
import Testing

@Suite("MMonSync codec")
struct MMonSyncCodecTests {
    let codec = MessageCodec.monitor()

    func roundTrip(_ message: MMonSync) throws -> MMonSync {
        let decoded = try codec.decode(codec.encode(message))
        return try #require(decoded as? MMonSync)
    }

    @Test("every op round-trips with every flag it allows", arguments: MMonSync.Op.allCases)
    func everyOpAndFlag(op: MMonSync.Op) throws {
        // Every subset of the op's allowed flags.
        let allowed = op.allowedFlags.rawValue
        for bits in 0...UInt8(0x1F) where bits & ~allowed == 0 {
            let flags = MMonSync.Flags(rawValue: bits)
            let message = MMonSync(op: op, flags: flags, version: 7, chunk: [1, 2, 3],
                                   lastKey: SyncKey(prefix: "p", key: "k"), crc: 99,
                                   replyTo: flags.contains(.replyTo) ? MessageSamples.b : nil,
                                   session: 5, sequence: 6, requesterVersion: 8, firstCommitted: 9, window: 10,
                                   reason: .busy, estimatedBytes: 11, quorum: [MessageSamples.a])
            let back = try roundTrip(message)
            #expect(back == message)
            #expect(back.wireFlags == flags)
            #expect(back.op == op)
        }
    }

    @Test("flags the op does not allow are refused on decode", arguments: MMonSync.Op.allCases)
    func disallowedFlags(op: MMonSync.Op) throws {
        for bit in [MMonSync.Flags.last, .retry, .crc, .replyTo, .backup] where !op.allowedFlags.contains(bit) {
            var bytes = codec.encode(MMonSync(op: op))
            // flags is the payload's 5th byte: header 12 + op 4.
            bytes[Frame.headerSize + 4] = bit.rawValue
            bytes = MalformedInput.refreshCRC(bytes)
            #expect(throws: DecodeError.invalidFlags(op: op.rawValue, flags: bit.rawValue)) { try codec.decode(bytes) }
            // And the dispatcher's pre-send validation refuses to build it.
            let message = MMonSync(op: op, flags: bit, replyTo: bit == .replyTo ? MessageSamples.a : nil)
            #expect(throws: DecodeError.self) { try message.validate() }
        }
    }

    @Test("BACKUP is a version-3 flag: a START_CHUNKS written as version 2 with it is refused, as a version-2 reader refuses it")
    func backupFlagNeedsVersion3() throws {
        let message = MMonSync(op: .startChunks, flags: .backup, session: 9, sequence: 1, window: 8)
        #expect(try roundTrip(message).flags == .backup)
        let asVersion2 = Frame.encode(type: MMonSync.messageType, version: 2, compatVersion: 1, payloadCapacity: 256) {
            message.encodePayload(into: &$0)
        }
        #expect(throws: DecodeError.invalidFlags(op: MMonSync.Op.startChunks.rawValue, flags: 0x10)) { try codec.decode(asVersion2) }
        // The same frame with the flag cleared is an ordinary version-2 START_CHUNKS.
        var plain = message
        plain.flags = []
        let plainVersion2 = Frame.encode(type: MMonSync.messageType, version: 2, compatVersion: 1, payloadCapacity: 256) {
            plain.encodePayload(into: &$0)
        }
        #expect(try codec.decode(plainVersion2) as? MMonSync == plain)
    }

    @Test("random messages round-trip unchanged")
    func randomRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SeededRandomNumberGenerator(seed: seed)
            let message = MessageSamples.random(using: &rng)
            let back = try? roundTrip(message)
            #expect(back == message, "seed \(seed)")
        }
    }

    @Test("REPLY_TO follows the presence of reply_to")
    func replyToFlagFollowsField() throws {
        let without = MMonSync(op: .start, flags: .replyTo)
        #expect(without.wireFlags.isEmpty)
        let with = MMonSync(op: .start, replyTo: MessageSamples.a)
        #expect(with.wireFlags == .replyTo)
        #expect(try roundTrip(with).replyTo == MessageSamples.a)
        #expect(try roundTrip(without).replyTo == nil)
    }

    @Test("a decoded chunk shares storage with the received bytes (no copy)")
    func chunkIsNotCopied() throws {
        let chunk = [UInt8](repeating: 0xAB, count: 1 << 20)
        let bytes = codec.encode(MMonSync(op: .chunk, flags: .crc, chunk: chunk[...], crc: CRC32C.checksum(chunk)))
        let decoded = try #require(try codec.decode(bytes) as? MMonSync)
        let frameRange = bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress! + $0.count) }
        let chunkStart = decoded.chunk.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress!) }
        #expect(frameRange.contains(chunkStart), "the chunk must point into the frame's buffer")
        #expect(decoded.chunk.count == chunk.count)
        #expect(CRC32C.checksum(decoded.chunk) == decoded.crc)
    }

    @Test("a version-1 payload decodes with the version-2 fields at their defaults")
    func readsVersionOne() throws {
        // Build a version-1 frame by hand: the v1 fields only, header version 1 / compat 1.
        let v1 = Frame.encode(type: .mmonSync, version: 1, compatVersion: 1) { e in
            e.encode(MMonSync.Op.chunk.rawValue)
            e.encode(MMonSync.Flags.last.rawValue)
            e.encode(UInt64(77))
            e.encodeBlob([9, 8, 7] as [UInt8])
            e.encode("paxos")
            e.encode("77")
            e.encode(UInt32(0))
            MonitorEntity.none.encode(into: &e)
        }
        let message = try #require(try codec.decode(v1) as? MMonSync)
        #expect(message.op == .chunk && message.flags == .last && message.version == 77)
        #expect(Array(message.chunk) == [9, 8, 7])
        #expect(message.lastKey == SyncKey(prefix: "paxos", key: "77"))
        #expect(message.session == 0 && message.sequence == 0 && message.quorum.isEmpty && message.reason == .none)
    }

    @Test("fields appended by a newer version are skipped")
    func skipsNewerFields() throws {
        let current = MessageSamples.canonical.first { $0.name == "chunk" }!.message
        let newer = Frame.encode(type: .mmonSync, version: 4, compatVersion: 1) { e in
            current.encodePayload(into: &e)
            e.encode(UInt64(0xFEED))  // a field of version 4 we do not know
            e.encode("future")
        }
        #expect(try codec.decode(newer) as? MMonSync == current)
    }

    @Test("data whose compat version is newer than ours is refused clearly")
    func refusesTooNew() throws {
        let bytes = Frame.encode(type: .mmonSync, version: 5, compatVersion: 4) { e in
            MMonSync(op: .heartbeat).encodePayload(into: &e)
        }
        #expect(throws: DecodeError.unsupportedVersion(what: "mon_sync", compat: 4, supported: 3)) { try codec.decode(bytes) }
    }

    @Test("an entity from a newer struct version is read and its new fields skipped")
    func entityForwardCompatible() throws {
        var e = WireEncoder()
        e.encodeVersionedStruct(version: 2, compat: 1) { e in
            e.encode(Int32(3))
            e.encode("d")
            e.encode("tcp://h:1")
            e.encode(UInt64(123))  // version-2 field
        }
        var d = WireDecoder(e.finish())
        #expect(try MonitorEntity(from: &d) == MonitorEntity(rank: 3, name: "d", address: "tcp://h:1"))
        #expect(d.remaining == 0)
    }
}
